"""The example server under gunicorn as the README starts it, with its configuration file.

Over a real socket: an oversized credential reaches the extension and gets its JSON 401, not
gunicorn's HTML 431; the access log (stdout) writes paths without query strings; the error
log (stderr) holds exactly one line per refusal and per tool request. The command line is
read from the README, so the page and this test cannot drift apart.
"""

from __future__ import annotations

import configparser
import re
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..servers import REPO_ROOT, start_gunicorn, stop
from .support import AUDIENCE, JWT_SECRET, KEY_RECORD, call_body, key_headers, mint

pytestmark = pytest.mark.e2e

README = (REPO_ROOT / "README.md").read_text()
[README_COMMAND] = re.findall(r"^\$ (\.venv/bin/gunicorn .+)$", README, flags=re.MULTILINE)
PROGRAM, *README_ARGS, APP = shlex.split(README_COMMAND)
SETTINGS = {
    "OTC_AUTH_API_KEYS": [KEY_RECORD],
    "OTC_AUTH_JWT_SECRET": JWT_SECRET,
    "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE],
}
# Behind the TLS-terminating proxy production has: gunicorn trusts X-Forwarded-Proto from
# 127.0.0.1 (its forwarded_allow_ips), so these requests count as HTTPS.
HTTPS = {"X-Forwarded-Proto": "https"}
OUR_LINE = re.compile(r"\] (flask_otcauth|example_app\.app): ")


@dataclass(frozen=True)
class Server:
    base_url: str
    access_log: Path  # gunicorn's stdout
    error_log: Path  # gunicorn's stderr

    def lines(self, expected: int) -> list[str]:
        """The app's lines in the error log, once ``expected`` of them are there."""
        deadline = time.monotonic() + 10
        while True:
            ours = [line for line in self.error_log.read_text().splitlines()
                    if OUR_LINE.search(line)]
            if len(ours) >= expected or time.monotonic() > deadline:
                return ours
            time.sleep(0.05)


    def access_log_with(self, start: str) -> str:
        """The access log, once a line holding ``start`` is in it."""
        deadline = time.monotonic() + 10
        while start not in (access := self.access_log.read_text()):
            if time.monotonic() > deadline:
                return access
            time.sleep(0.05)
        return access


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    access_log, error_log = tmp_path / "stdout.log", tmp_path / "stderr.log"
    process, base_url = start_gunicorn(APP, SETTINGS, access_log, args=README_ARGS,
                                       error_log=error_log)
    try:
        yield Server(base_url, access_log, error_log)
    finally:
        stop(process)


def test_the_readme_starts_gunicorn_with_the_examples_configuration_file() -> None:
    assert PROGRAM == ".venv/bin/gunicorn"
    assert README_ARGS[:2] == ["-c", "example_app/gunicorn.conf.py"]
    assert (REPO_ROOT / README_ARGS[1]).is_file()
    assert APP == "example_app:create_app()"


def test_the_readmes_own_set_up_installs_gunicorn() -> None:
    """``scripts/run-example`` (the README's first command) installs the extras gunicorn
    comes with, into the ``.venv/`` the gunicorn line runs from."""
    script = (REPO_ROOT / "scripts" / "run-example").read_text()
    [extras] = re.findall(r'pip install .*-e "\.\[([a-z,]+)\]"', script)
    setup = configparser.ConfigParser()
    setup.read(REPO_ROOT / "setup.cfg")
    required = [line.strip() for extra in extras.split(",")
                for line in setup["options.extras_require"][extra].splitlines()]

    assert "[ -x .venv/bin/python ] || python3 -m venv .venv" in script
    assert any(re.match(r"gunicorn\b", requirement) for requirement in required)


def test_a_20_kb_token_gets_the_extensions_json_401_not_gunicorns_431(server: Server) -> None:
    token = "eyJ" + "a" * 20_000

    response = httpx.get(f"{server.base_url}/tools", timeout=10,
                         headers={**HTTPS, "Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_token"
    assert "longer than 8192 characters" in response.json()["developer_message"]


def test_a_header_over_32_kib_still_stops_at_gunicorn(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/tools", timeout=10,
                         headers={**HTTPS, "Authorization": "Bearer " + "a" * 40_000})

    assert response.status_code == 431


def test_the_access_log_writes_paths_without_their_query_string(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/tools?access_token=secretvalue&page=2",
                         headers=HTTPS, timeout=10)
    assert response.status_code == 401  # a token in the query is no credential
    server.lines(1)

    access = server.access_log_with('"GET /tools')  # gunicorn writes it after answering
    assert '"GET /tools HTTP/1.1" 401 ' in access
    assert "secretvalue" not in access + server.error_log.read_text()
    assert "access_token" not in access


def test_stderr_holds_one_line_per_refusal_and_per_tool_request(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, headers=HTTPS, timeout=10) as client:
        refusals = [
            client.get("/tools"),
            client.get("/tools", headers={"Authorization": f"Bearer {mint(aud='other')}"}),
            client.get("/tools", headers={"Authorization": "Bearer " + "a" * 20_000}),
            client.post("/tools/call", json=call_body("Text.Stats", {"text": "a"}),
                        headers={"Authorization": "Bearer " + mint(scope="tools:list")}),
        ]
        requests = [
            client.get("/tools", headers=key_headers()),
            client.post("/tools/call", json=call_body("Math.Add", {"a": 1, "b": 2}),
                        headers={"Authorization": f"Bearer {mint(sub='platform-7')}"}),
            client.post("/tools/call", json=call_body("Math.Pow", {}), headers=key_headers()),
        ]
    assert [response.status_code for response in refusals] == [401, 401, 401, 403]
    assert [response.status_code for response in requests] == [200, 200, 400]

    lines = server.lines(len(refusals) + len(requests))
    assert len(lines) == len(refusals) + len(requests), lines
    failed = [line for line in lines if "authentication failed: " in line]
    assert [re.search(r"status=(\d+) reason=(\w+)", line).groups()  # type: ignore[union-attr]
            for line in failed] == [("401", "missing_credentials"), ("401", "invalid_token"),
                                    ("401", "invalid_token"), ("403", "insufficient_scope")]
    calls = [line for line in lines if "example_app.app: " in line]
    assert [re.search(r"status=(\d+) caller=(\S+)", line).groups()  # type: ignore[union-attr]
            for line in calls] == [("200", "api_key:agent-key"), ("200", "jwt:platform-7"),
                                   ("400", "api_key:agent-key")]
    assert all(re.search(r" duration=\d+\.\dms$", line) for line in calls)
    assert "a" * 100 not in server.error_log.read_text()
