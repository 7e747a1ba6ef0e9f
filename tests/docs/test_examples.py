"""The quickstart, as the page tells it: its server file under a real server, called by curl.

``docs/examples/quickstart.py`` runs under ``flask run`` on a free port with secrets made the way
the page makes them; ``curl`` calls it with the key and with a token from ``mint_token.py``, and
``clients.py`` calls it with requests, httpx and the OXP client.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from clients import call_tool_with_oxp, list_tools_with_httpx, list_tools_with_requests

from .conftest import DOCS

pytestmark = pytest.mark.e2e

EXAMPLES = DOCS / "examples"
REPO_ROOT = DOCS.parent
BOOT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Quickstart:
    base_url: str
    env: dict[str, str]

    @property
    def api_key(self) -> str:
        return self.env["TOOLS_API_KEY"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _quickstart_env() -> dict[str, str]:
    """The variables step 2 of the quickstart exports, made the same way."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OTC_AUTH_", "FLASK_", "OXP_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    api_key = secrets.token_urlsafe(48)
    env["OTC_AUTH_JWT_SECRET"] = secrets.token_urlsafe(48)
    env["TOOLS_API_KEY"] = api_key
    env["TOOLS_API_KEY_DIGEST"] = "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()
    return env


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quickstart]:
    env = _quickstart_env()
    port = _free_port()
    log = tmp_path_factory.mktemp("quickstart") / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed command line
            [sys.executable, "-m", "flask", "--app", "quickstart", "run", "--port", str(port)],
            cwd=EXAMPLES, env=env, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"flask run exited with {server.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"the quickstart server did not answer:\n{log.read_text()}")
            time.sleep(0.05)
        yield Quickstart(base_url, env)
    finally:
        server.terminate()
        server.wait(timeout=10)


def curl(quickstart: Quickstart, path: str, *headers: str, data: str | None = None
         ) -> tuple[int, dict[str, object]]:
    """``curl -H ... URL`` as the page runs it: the status and the JSON body."""
    command = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"]
    for header in headers:
        command += ["-H", header]
    if data is not None:
        command += ["-H", "Content-Type: application/json", "-d", data]
    done = subprocess.run(  # noqa: S603 - curl with arguments of our own
        [*command, quickstart.base_url + path], capture_output=True, text=True, check=True,
        timeout=30)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


def mint_token(quickstart: Quickstart) -> str:
    """``TOKEN=$(python mint_token.py)``."""
    done = subprocess.run(
        [sys.executable, "mint_token.py"], cwd=EXAMPLES, env=quickstart.env,
        capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.strip()


def test_quickstart_refuses_curl_without_credentials(quickstart: Quickstart) -> None:
    status, body = curl(quickstart, "/tools")

    assert (status, body["error"]) == (401, "missing_credentials")


def test_quickstart_answers_curl_with_the_api_key(quickstart: Quickstart) -> None:
    status, body = curl(quickstart, "/tools", f"OTC-API-Key: {quickstart.api_key}")

    assert status == 200
    assert body["$schema"] == "urn:oxp:1.0"


def test_quickstart_answers_curl_with_a_minted_token(quickstart: Quickstart) -> None:
    token = mint_token(quickstart)

    status, body = curl(quickstart, "/tools/call", f"Authorization: Bearer {token}",
                        data='{"request": {"tool_id": "Hello.Greet", "input": {"name": "Ada"}}}')

    assert status == 200
    assert body["result"] == {"call_id": "1", "duration": 0.0, "success": True,
                              "value": "Hello, Ada! (called by my-agent)"}


def test_quickstart_refuses_curl_with_a_token_of_another_secret(quickstart: Quickstart) -> None:
    forged = mint_token(Quickstart(quickstart.base_url, {
        **quickstart.env, "OTC_AUTH_JWT_SECRET": secrets.token_urlsafe(48)}))

    status, body = curl(quickstart, "/tools", f"Authorization: Bearer {forged}")

    assert (status, body["error"]) == (401, "invalid_token")


def test_requests_example_lists_tools_with_the_key(quickstart: Quickstart) -> None:
    body = list_tools_with_requests(quickstart.base_url, quickstart.api_key)

    assert [tool["id"] for tool in body["items"]] == ["Hello.Greet@1.0.0"]


def test_httpx_example_lists_tools_with_a_token(quickstart: Quickstart) -> None:
    body = list_tools_with_httpx(quickstart.base_url, mint_token(quickstart))

    assert [tool["id"] for tool in body["items"]] == ["Hello.Greet@1.0.0"]


def test_oxp_example_calls_a_tool_with_a_token(quickstart: Quickstart) -> None:
    value = call_tool_with_oxp(quickstart.base_url, mint_token(quickstart), "Grace")

    assert value == "Hello, Grace! (called by my-agent)"
