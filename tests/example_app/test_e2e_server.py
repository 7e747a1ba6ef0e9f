"""The example app under gunicorn, configured by environment variables, over a real socket.

What the in-process tests cannot show: that ``example_app:create_app()`` boots in a WSGI server
with several workers, that JSON-valued environment variables reach the extension, and that a
server without secrets refuses to start instead of serving unprotected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..servers import BOOT_TIMEOUT_SECONDS, spawn_gunicorn, start_gunicorn, stop
from .support import (
    API_KEY,
    AUDIENCE,
    JWT_SECRET,
    KEY_RECORD,
    WITHOUT_STEP_UP,
    call_body,
    key_headers,
    mint,
)

pytestmark = pytest.mark.e2e
APP = "example_app:create_app()"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running gunicorn with two workers; yields its base URL, always stopped afterwards."""
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    process, base_url = start_gunicorn(APP, {
        "OTC_AUTH_API_KEYS": [KEY_RECORD],
        "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE],
    }, log)
    try:
        yield base_url
    finally:
        stop(process)


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    """A client behind the TLS-terminating proxy production has: gunicorn trusts the proxy's
    X-Forwarded-Proto from 127.0.0.1 (its forwarded_allow_ips), so requests count as HTTPS."""
    headers = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=server, timeout=5.0, headers=headers) as client:
        yield client


def test_credentials_over_plain_http_are_403_by_default(server: str) -> None:
    response = httpx.get(f"{server}/tools", headers=key_headers(), timeout=5.0)

    assert response.status_code == 403
    assert response.json()["error"] == "https_required"
    assert API_KEY not in response.text


def test_protected_responses_over_https_carry_hsts(http: httpx.Client) -> None:
    response = http.get("/tools", headers=key_headers())

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_health_answers_without_credentials(http: httpx.Client) -> None:
    response = http.get("/health", headers={"Authorization": "Bearer junk"})

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_list_tools_without_credentials_is_401(http: httpx.Client) -> None:
    response = http.get("/tools")

    assert response.status_code == 401
    assert response.json()["error"] == "missing_credentials"
    assert "WWW-Authenticate" in response.headers


def test_list_tools_with_the_api_key_is_200(http: httpx.Client) -> None:
    response = http.get("/tools", headers=key_headers())

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == WITHOUT_STEP_UP


def test_call_with_a_jwt_is_200(http: httpx.Client) -> None:
    response = http.post(
        "/tools/call",
        json=call_body("Text.Stats", {"text": "over a real socket"}),
        headers={"Authorization": f"Bearer {mint()}"},
    )

    assert response.status_code == 200
    assert response.json()["result"]["value"] == {"characters": 18, "words": 4, "lines": 1}


@pytest.mark.parametrize("name", ["Authorization", "OTC-API-Key"])
def test_a_credential_header_sent_twice_is_401(http: httpx.Client, name: str) -> None:
    """gunicorn joins the two lines with a comma, as Werkzeug does; neither value gets in."""
    value = f"Bearer {mint()}" if name == "Authorization" else API_KEY
    response = http.get("/tools", headers=[(name, value), (name, value)])

    assert response.status_code == 401
    assert response.json()["error"] in ("invalid_token", "invalid_api_key")
    assert value.rpartition(" ")[2] not in response.text


def test_a_megabyte_token_is_refused_by_the_server_before_the_app(http: httpx.Client) -> None:
    response = http.get("/tools", headers={"Authorization": "Bearer " + "a" * 1_000_000})

    # gunicorn's own header size limit (431 here; 400 in some versions), never a 5xx.
    assert response.status_code in (400, 431)


def test_server_without_secrets_refuses_to_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    process, _ = spawn_gunicorn(APP, {}, log)
    try:
        exit_code = process.wait(timeout=BOOT_TIMEOUT_SECONDS)
    finally:
        stop(process)

    assert exit_code != 0
    assert "OTCAuthConfigError" in log.read_text()
