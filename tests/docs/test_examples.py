"""The docs' examples, run as the pages tell them, against real servers on free ports.

``docs/examples/quickstart.py`` runs under ``flask run`` with secrets made the way the
quickstart makes them; ``curl`` calls it with the key and with a token from ``mint_token.py``,
and ``clients.py`` calls it with requests and httpx (each with the key and with a token) and the
OXP client (a token, and a key with ``Authorization`` omitted: the quickstart enables ``jwt``
too). The OXP client with a key and the signing examples of ``clients.py`` also call the
example tool server under gunicorn, configured for ``api_key`` and ``hmac``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oxp
import pytest
from clients import (
    call_tool_signed_with_httpx,
    call_tool_signed_with_oxp,
    call_tool_with_oxp_and_key,
    call_tool_with_oxp_and_token,
    list_tools_signed_with_requests,
    list_tools_with_httpx_and_key,
    list_tools_with_httpx_and_token,
    list_tools_with_requests_and_key,
    list_tools_with_requests_and_token,
)

from flask_otcauth import generate_key, hash_key

from ..servers import REPO_ROOT, free_port, start_gunicorn, stop
from .conftest import DOCS

pytestmark = pytest.mark.e2e

EXAMPLES = DOCS / "examples"
BOOT_TIMEOUT_SECONDS = 15.0
SIGNING_CLIENT = "agent-platform"
SIGNING_SECRET = secrets.token_urlsafe(48)
EXAMPLE_API_KEY = generate_key("test")
EVERY_TOOL = ["tools:list", "tools:call:*"]


@dataclass(frozen=True)
class Quickstart:
    base_url: str
    env: dict[str, str]
    log: Path | None = None  # what the server wrote to stdout and stderr

    @property
    def api_key(self) -> str:
        return self.env["TOOLS_API_KEY"]


def _environment(**variables: str) -> dict[str, str]:
    """This process's environment without any settings of ours, plus ``variables``."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OTC_AUTH_", "EXAMPLE_", "FLASK_", "OXP_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(variables)
    return env


@contextlib.contextmanager
def flask_run(app: str, cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """``flask --app APP run`` on a free port until the block ends; yields its base URL."""
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed command line
            [sys.executable, "-m", "flask", "--app", app, "run", "--port", str(port)],
            cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
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
                pytest.fail(f"{app} did not answer:\n{log.read_text()}")
            time.sleep(0.05)
        yield base_url
    finally:
        stop(server)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quickstart]:
    """The quickstart's server, with the variables step 2 exports, made the same way."""
    api_key = secrets.token_urlsafe(48)
    env = _environment(
        OTC_AUTH_JWT_SECRET=secrets.token_urlsafe(48),
        TOOLS_API_KEY=api_key,
        TOOLS_API_KEY_DIGEST="sha256:" + hashlib.sha256(api_key.encode()).hexdigest(),
    )
    log = tmp_path_factory.mktemp("quickstart") / "server.log"
    with flask_run("quickstart", EXAMPLES, env, log) as base_url:
        yield Quickstart(base_url, env, log)


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example tool server under gunicorn, accepting signed requests and an API key."""
    log = tmp_path_factory.mktemp("example") / "server.log"
    server, base_url = start_gunicorn("example_app:create_app()", {
        "OTC_AUTH_METHODS": ["hmac", "api_key"],
        "OTC_AUTH_HMAC_CLIENTS": {SIGNING_CLIENT: {
            "secrets": [SIGNING_SECRET], "scopes": EVERY_TOOL}},
        "OTC_AUTH_API_KEYS": [{"id": "oxp-client", "hash": hash_key(EXAMPLE_API_KEY),
                               "scopes": EVERY_TOOL}],
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain http://127.0.0.1 in this test
    }, log, args=("-w", "1"))
    try:
        yield base_url
    finally:
        stop(server)


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


def test_quickstart_logs_each_refusal_through_its_three_logging_lines(
    quickstart: Quickstart,
) -> None:
    assert quickstart.log is not None
    curl(quickstart, "/tools?why=logged", "Authorization: Bearer not-a-token")

    deadline = time.monotonic() + 5
    while "reason=invalid_token" not in quickstart.log.read_text():
        assert time.monotonic() < deadline, quickstart.log.read_text()
        time.sleep(0.05)
    [line] = [line for line in quickstart.log.read_text().splitlines()
              if "reason=invalid_token" in line]
    assert " INFO flask_otcauth: authentication failed: status=401 reason=invalid_token " in line
    assert "request=GET /tools " in line
    assert "not-a-token" not in line


def test_the_deploying_pages_three_logging_lines_are_the_quickstarts() -> None:
    page = (DOCS / "deploying.md").read_text()
    block = page.split("```python\nimport logging\n", 1)[1].split("```", 1)[0]
    lines = ["import logging", *block.strip().splitlines()]
    source = (EXAMPLES / "quickstart.py").read_text().splitlines()

    assert len(lines) == 3
    assert all(line in source for line in lines)


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


def tool_ids(body: dict[str, Any]) -> list[str]:
    return [tool["id"] for tool in body["items"]]


@pytest.mark.parametrize(("list_tools", "credential"), [
    (list_tools_with_requests_and_key, "key"),
    (list_tools_with_requests_and_token, "token"),
    (list_tools_with_httpx_and_key, "key"),
    (list_tools_with_httpx_and_token, "token"),
], ids=["requests-key", "requests-token", "httpx-key", "httpx-token"])
def test_requests_and_httpx_examples_list_tools(
    quickstart: Quickstart, list_tools: Callable[[str, str], dict[str, Any]], credential: str
) -> None:
    secret = quickstart.api_key if credential == "key" else mint_token(quickstart)

    body = list_tools(quickstart.base_url, secret)

    assert tool_ids(body) == ["Hello.Greet@1.0.0"]


def test_oxp_example_calls_a_tool_with_a_token(quickstart: Quickstart) -> None:
    value = call_tool_with_oxp_and_token(quickstart.base_url, mint_token(quickstart), "Grace")

    assert value == "Hello, Grace! (called by my-agent)"


def test_oxp_example_calls_a_tool_with_the_key(example_server: str) -> None:
    value = call_tool_with_oxp_and_key(example_server, EXAMPLE_API_KEY,
                                       "Math.Add", {"a": 1, "b": 2})

    assert value == 3


def test_oxp_key_example_calls_a_server_that_enables_jwt_too(quickstart: Quickstart) -> None:
    """The quickstart enables jwt and api_key: with Authorization omitted, the key is enough."""
    value = call_tool_with_oxp_and_key(quickstart.base_url, quickstart.api_key,
                                       "Hello.Greet", {"name": "Ada"})

    assert value.startswith("Hello, Ada! (called by key:")


def test_oxp_with_its_placeholder_bearer_is_refused_where_jwt_is_enabled(
    quickstart: Quickstart,
) -> None:
    """What the page warns of: without oxp.Omit() the placeholder is verified, and refused."""
    client = oxp.Oxp(bearer_token="unused", base_url=quickstart.base_url, max_retries=0,
                     default_headers={"OTC-API-Key": quickstart.api_key})

    with pytest.raises(oxp.AuthenticationError) as refused:
        client.tools.list()

    assert refused.value.response.json()["error"] == "invalid_token"


def test_httpx_example_signs_a_tool_call(example_server: str) -> None:
    body = call_tool_signed_with_httpx(example_server, SIGNING_CLIENT, SIGNING_SECRET,
                                       "Math.Add", {"a": 20, "b": 22})

    assert body["result"]["value"] == 42


def test_requests_example_signs_a_listing(example_server: str) -> None:
    tools = list_tools_signed_with_requests(example_server, SIGNING_CLIENT, SIGNING_SECRET)

    assert "Math.Add@1.0.0" in tools


def test_oxp_example_signs_a_tool_call(example_server: str) -> None:
    value = call_tool_signed_with_oxp(example_server, SIGNING_CLIENT, SIGNING_SECRET,
                                      "Math.Add", {"a": 40, "b": 2})

    assert value == 42


def test_example_server_refuses_a_request_without_credentials(example_server: str) -> None:
    response = httpx.get(f"{example_server}/tools", timeout=10)

    assert response.status_code == 401


def test_testing_page_example_passes_under_pytest() -> None:
    done = subprocess.run(  # noqa: S603 - our interpreter running pytest on our example
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLES / "test_tool_server.py")],
        cwd=REPO_ROOT, env=_environment(), capture_output=True, text=True, timeout=120,
        check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout


def test_quickstart_answers_curl_with_a_cli_minted_token(quickstart: Quickstart) -> None:
    """``TOKEN=$(flask --app quickstart otcauth mint-token --sub my-agent)``."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "quickstart", "otcauth", "mint-token",
         "--sub", "my-agent"], cwd=EXAMPLES, env=quickstart.env, capture_output=True,
        text=True, check=True, timeout=60)

    status, _ = curl(quickstart, "/tools", f"Authorization: Bearer {done.stdout.strip()}")

    assert status == 200
