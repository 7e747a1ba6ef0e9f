"""docs/examples/dpop_clients.py, as docs/dpop.md shows it, against a real server on 127.0.0.1
with DPoP and nonces on (RFC 9449 sections 7 and 9)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from dpop_clients import get_with_httpx, get_with_requests, new_client_key, proof_headers
from werkzeug.serving import make_server

from flask_otcauth.testing import LocalIssuer

from ..oauth.conftest import RESOURCE, dpop_app


@pytest.fixture
def server(otc_oauth_issuer: LocalIssuer) -> Iterator[str]:
    app = dpop_app(otc_oauth_issuer, OTC_AUTH_DPOP_NONCES=True,
                   OTC_AUTH_DPOP_NONCE_SECRET="a-nonce-secret-of-more-than-32-bytes-docs")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/api/whoami"
    httpd.shutdown()
    thread.join(timeout=5)


def test_the_httpx_example(server: str, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 sections 7 and 9: the nonce challenge is answered, the token accepted."""
    key = new_client_key()
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf={"jkt": key.thumbprint})
    assert get_with_httpx(server, token, key)["method"] == "oauth"


def test_the_requests_example(server: str, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 sections 7 and 9 with requests."""
    key = new_client_key()
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf={"jkt": key.thumbprint})
    assert get_with_requests(server, token, key)["method"] == "oauth"


def test_the_headers_example_meets_the_nonce_challenge(server: str,
                                                       otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 section 9: hand-sent headers get use_dpop_nonce first, then, with the nonce
    kept by the key, 200."""
    key = new_client_key()
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf={"jkt": key.thumbprint})
    first = httpx.get(server, headers=proof_headers("GET", server, token, key))
    assert first.status_code == 401 and first.json()["error"] == "use_dpop_nonce"
    key.nonce = first.headers["DPoP-Nonce"]
    assert httpx.get(server, headers=proof_headers("GET", server, token, key)).status_code == 200
