"""The real-server run: gunicorn with 2 sync workers on loopback, loaded by ``wrk``.

Runs only where ``wrk`` and ``gunicorn`` are installed (``apt-get install wrk``); the test-client
table does not need them. Each server listens on a free port of 127.0.0.1 and is stopped after
its run.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from . import apps

_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
# The apps gunicorn can load, by the name ``create`` takes.
TARGETS: dict[str, Callable[[], Flask]] = {
    "bare": apps.bare,
    "otcauth-jwt-limits": lambda: apps.otcauth_app(methods=["jwt"], limits=True,
                                                   storage="memory://"),
    "pyjwt": apps.handwritten_pyjwt,
}


@dataclass(frozen=True)
class WrkResult:
    name: str
    requests_per_second: float


def create(name: str) -> Flask:
    """The gunicorn entry point: ``benchmarks.server:create('bare')``."""
    return TARGETS[name]()


def available() -> str | None:
    """Why the real-server run cannot happen here, or ``None``."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install wrk)"
    if importlib.util.find_spec("gunicorn") is None:
        return "gunicorn is not installed (pip install -e '.[bench]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer within 20 s")


def measure(name: str, headers: dict[str, str], *, seconds: int,
            connections: int) -> WrkResult:
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               f"benchmarks.server:create('{name}')"]
    process = subprocess.Popen(command)  # noqa: S603 - our own interpreter and arguments
    try:
        url = f"http://127.0.0.1:{port}/tool"
        _wait_until_up(url, process)
        wrk = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
        for header, value in headers.items():
            wrk += ["-H", f"{header}: {value}"]
        output = subprocess.run([*wrk, url], capture_output=True, text=True,  # noqa: S603
                                check=True).stdout
        if "Non-2xx" in output:
            raise AssertionError(f"{name}: wrk saw non-2xx answers:\n{output}")
        match = _RATE.search(output)
        if match is None:
            raise RuntimeError(f"cannot read wrk's output:\n{output}")
        return WrkResult(name, float(match.group(1)))
    finally:
        process.terminate()
        process.wait(timeout=20)


def run(*, seconds: int, connections: int, rounds: int) -> list[list[WrkResult]]:
    """Interleaved rounds of every target; one list per round."""
    bearer = {"Authorization": f"Bearer {apps.make_token()}"}
    plan = [("bare", {}), ("otcauth-jwt-limits", bearer), ("pyjwt", bearer)]
    return [[measure(name, headers, seconds=seconds, connections=connections)
             for name, headers in plan] for _ in range(rounds)]
