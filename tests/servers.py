"""Real server processes for end-to-end tests: gunicorn on free ports (Redis servers of a test's
own: tests/redis_servers.py).

Five people run the suite on one small machine at once, so every server binds a port the
kernel picked as free, and every process is stopped by the test that started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOT_TIMEOUT_SECONDS = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    """Graceful shutdown (gunicorn stops its workers), then kill if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def spawn_gunicorn(
    app: str, settings: Mapping[str, object], log: Path, *, args: Sequence[str] = ("-w", "2"),
    env: Mapping[str, str] | None = None, error_log: Path | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn serving ``app`` with ``settings`` as JSON variables, not yet waited for.

    The test's own environment loses its ``OTC_AUTH_*``, ``RATELIMIT_*``, ``EXAMPLE_*`` and
    ``FLASK_*`` variables (a test elsewhere may leave ``FLASK_RUN_FROM_CLI`` behind), so only
    what the test passes configures the server. Its stdout and stderr go to ``log``, or stderr
    to ``error_log`` when one is given. ``port``: one the test picked with :func:`free_port`,
    for a server whose settings must name its own URL.
    """
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("OTC_AUTH_", "RATELIMIT_", "EXAMPLE_", "FLASK_"))}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                          environ.get("PYTHONPATH")]))
    environ.update({name: json.dumps(value) for name, value in settings.items()})
    environ.update(env or {})
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", *args, "-b", f"127.0.0.1:{port}", app]
    with contextlib.ExitStack() as files:
        output = files.enter_context(log.open("wb"))
        errors = files.enter_context(error_log.open("wb")) if error_log is not None else None
        process = subprocess.Popen(  # noqa: S603 - fixed command line, our own interpreter
            command, cwd=REPO_ROOT, env=environ, stdout=output,
            stderr=subprocess.STDOUT if errors is None else errors)
    return process, f"http://127.0.0.1:{port}"


def start_gunicorn(
    app: str, settings: Mapping[str, object], log: Path, *, args: Sequence[str] = ("-w", "2"),
    env: Mapping[str, str] | None = None, error_log: Path | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """:func:`spawn_gunicorn`, returned once ``/health`` answers (stopped and failed if not)."""
    process, base_url = spawn_gunicorn(app, settings, log, args=args, env=env,
                                       error_log=error_log, port=port)
    deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS

    def logged() -> str:
        return log.read_text() + (error_log.read_text() if error_log is not None else "")

    while True:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{logged()}")
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return process, base_url
        if time.monotonic() > deadline:
            stop(process)
            pytest.fail(f"/health did not answer within {BOOT_TIMEOUT_SECONDS} s:\n{logged()}")
        time.sleep(0.05)
