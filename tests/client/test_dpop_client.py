"""The DPoP client (DPoPKey, DPoPHttpxAuth, DPoPRequestsAuth) against a real server on
127.0.0.1 with DPoP on, nonces on and off."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import requests
from werkzeug.serving import make_server

from flask_otcauth.client import DPoPHttpxAuth, DPoPKey, DPoPRequestsAuth
from flask_otcauth.core.dpop import thumbprint
from flask_otcauth.testing import LocalIssuer

from ..oauth.conftest import RESOURCE, dpop_app

NONCES = {"OTC_AUTH_DPOP_NONCES": True,
          "OTC_AUTH_DPOP_NONCE_SECRET": "a-nonce-secret-of-more-than-32-bytes-for-clients"}


def serve(issuer: LocalIssuer, **settings: Any) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, dpop_app(issuer, **settings), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def server(otc_oauth_issuer: LocalIssuer) -> Iterator[str]:
    yield from serve(otc_oauth_issuer)


@pytest.fixture
def nonce_server(otc_oauth_issuer: LocalIssuer) -> Iterator[str]:
    yield from serve(otc_oauth_issuer, **NONCES)


@pytest.fixture(params=["ES256", "EdDSA", "PS256"])
def key(request: pytest.FixtureRequest) -> DPoPKey:
    return DPoPKey.generate(request.param)


def token_for(issuer: LocalIssuer, key: DPoPKey) -> str:
    return issuer.make_token(audience=RESOURCE, alg="ES256", cnf={"jkt": key.thumbprint})


def test_the_key_thumbprint_is_rfc7638s(key: DPoPKey) -> None:
    """RFC 7638 section 3: the client's thumbprint is the one the server computes."""
    assert key.thumbprint == thumbprint(key.public_jwk)


def test_a_proof_has_the_rfc9449_shape(key: DPoPKey) -> None:
    """RFC 9449 section 4.2: typ, alg, public jwk; jti, htm, htu without query, iat, ath."""
    proof = key.proof("post", "https://h.example/a/b?q=1#f", access_token="tok", nonce="n1")
    header = jwt.get_unverified_header(proof)
    claims = jwt.decode(proof, options={"verify_signature": False})
    assert header == {"typ": "dpop+jwt", "alg": key.algorithm, "jwk": key.public_jwk}
    assert claims["htm"] == "POST" and claims["htu"] == "https://h.example/a/b"
    assert claims["nonce"] == "n1"
    assert claims["ath"] == "GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI"  # SHA-256 of "tok"
    assert len(claims["jti"]) >= 16 and isinstance(claims["iat"], int)


def test_httpx_auth_is_accepted(server: str, otc_oauth_issuer: LocalIssuer,
                                key: DPoPKey) -> None:
    """RFC 9449 section 7: one proof per request, each accepted."""
    auth = DPoPHttpxAuth(token_for(otc_oauth_issuer, key), key)
    with httpx.Client(base_url=server, auth=auth) as http:
        statuses = [http.get("/api/whoami").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]


def test_requests_auth_is_accepted(server: str, otc_oauth_issuer: LocalIssuer,
                                   key: DPoPKey) -> None:
    """RFC 9449 section 7 through requests."""
    auth = DPoPRequestsAuth(token_for(otc_oauth_issuer, key), key)
    with requests.Session() as session:
        statuses = [session.get(f"{server}/api/whoami", auth=auth, timeout=10).status_code
                    for _ in range(3)]
    assert statuses == [200, 200, 200]


def test_httpx_auth_answers_the_nonce_challenge_once(nonce_server: str,
                                                     otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 section 9: the first answer is use_dpop_nonce, the retry carries the nonce;
    later requests use the nonce the accepted answers brought."""
    key = DPoPKey.generate("ES256")
    auth = DPoPHttpxAuth(token_for(otc_oauth_issuer, key), key)
    with httpx.Client(base_url=nonce_server, auth=auth) as http:
        first = http.get("/api/whoami")
        second = http.get("/api/whoami")
    assert first.status_code == 200 and [r.status_code for r in first.history] == [401]
    assert second.history == []
    assert second.status_code == 200
    assert key.nonce == second.headers["DPoP-Nonce"]


def test_requests_auth_answers_the_nonce_challenge_once(nonce_server: str,
                                                        otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 section 9 through requests: the refused answer is in the history."""
    key = DPoPKey.generate("ES256")
    response = requests.get(f"{nonce_server}/api/whoami", timeout=10,
                            auth=DPoPRequestsAuth(token_for(otc_oauth_issuer, key), key))
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]


def test_a_second_nonce_refusal_is_returned(nonce_server: str,
                                            otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 section 9: the client retries once; a server that keeps refusing is not
    asked forever (here the token is bound to another key)."""
    key = DPoPKey.generate("ES256")
    token = token_for(otc_oauth_issuer, DPoPKey.generate("ES256"))
    response = requests.get(f"{nonce_server}/api/whoami", timeout=10,
                            auth=DPoPRequestsAuth(token, key))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"


def test_httpx_async_client(server: str, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 section 7 with httpx's async client (the same auth flow)."""
    key = DPoPKey.generate("ES256")

    async def call() -> int:
        async with httpx.AsyncClient(base_url=server,
                                     auth=DPoPHttpxAuth(token_for(otc_oauth_issuer, key),
                                                        key)) as http:
            return (await http.get("/api/whoami")).status_code

    assert asyncio.run(call()) == 200
