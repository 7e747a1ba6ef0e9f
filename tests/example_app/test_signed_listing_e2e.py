"""The signed listing of the example under gunicorn, read by the oxp client over a socket.

Two workers load one key file, so whichever worker answers, every listing verifies against
the one key set: what a generated key per process would break.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import oxp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from flask_otcauth.client import verify_tool_listing

from ..servers import start_gunicorn, stop
from .support import AUDIENCE, JWT_SECRET, KEY_RECORD, key_headers, mint

pytestmark = pytest.mark.e2e
APP = "example_app:create_app()"
# gunicorn trusts X-Forwarded-Proto from 127.0.0.1: these requests count as HTTPS.
BEHIND_TLS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("signed")
    key_file = folder / "tool-signing.pem"
    key_file.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    process, base_url = start_gunicorn(APP, {
        "OTC_AUTH_API_KEYS": [KEY_RECORD], "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE], "OTC_AUTH_TOOL_SIGNING": True,
        "OTC_AUTH_TOOL_SIGNING_KEY_FILE": str(key_file),
    }, Path(folder / "server.log"))
    try:
        yield base_url
    finally:
        stop(process)


def test_the_oxp_client_lists_the_signed_tools_over_a_socket(server: str) -> None:
    with httpx.Client(headers=BEHIND_TLS, timeout=5.0) as http:
        tools = oxp.Oxp(bearer_token=mint(), base_url=server, http_client=http,
                        max_retries=0).tools.list()

    assert {item.id for item in tools.items} == set(tools.model_extra["signatures"])


def test_repeated_listings_across_two_workers_verify_against_one_key_set(server: str) -> None:
    with httpx.Client(base_url=server, headers=BEHIND_TLS, timeout=5.0) as http:
        keys = http.get("/.well-known/otc-tool-keys.json").json()
        listings = [http.get("/tools", headers=key_headers()).json() for _ in range(8)]

    assert all(verify_tool_listing(listing, keys).verified for listing in listings)
    assert len(keys["keys"]) == 1
