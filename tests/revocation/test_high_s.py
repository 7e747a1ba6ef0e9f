"""The high-S twin of a revoked ES256 token: the same claims under the other valid form of its
signature, ``(r, n - s)``, refused like the token itself.

ECDSA (FIPS 186-5 section 6.4.2; JWS ES256 is RFC 7518 section 3.4, ``r`` and ``s`` as two
32-byte big-endian integers) accepts both ``(r, s)`` and ``(r, n - s)``: nothing in JWS asks
for the low form, and PyJWT (through cryptography) verifies either. A revocation list keyed on
the token's bytes would let the twin in again; keyed on issuer and ``jti``, it refuses both.
"""

from __future__ import annotations

import base64
from typing import Final

import jwt
import pytest
from flask import Flask

from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from ..oauth.conftest import RESOURCE, bearer, oauth_app

# The order of the P-256 group (FIPS 186-5 / SEC 2 section 2.4.2).
P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def high_s_twin(token: str) -> str:
    """``token`` with its ES256 signature ``(r, s)`` replaced by ``(r, n - s)``."""
    signing_input, _, signature = token.rpartition(".")
    raw = b64decode(signature)
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    twin = r + (P256_ORDER - s).to_bytes(32, "big")
    return signing_input + "." + base64.urlsafe_b64encode(twin).rstrip(b"=").decode()


@pytest.fixture
def app(otc_oauth_issuer: LocalIssuer) -> Flask:
    return oauth_app(otc_oauth_issuer, OTC_AUTH_REVOCATION=True)


def test_pyjwt_accepts_the_high_s_twin_of_an_es256_token(otc_oauth_issuer: LocalIssuer) -> None:
    """The premise: the twin is other bytes, and a valid signature all the same."""
    token = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", jti="twin-0")
    twin = high_s_twin(token)
    assert twin != token
    public = otc_oauth_issuer.private[otc_oauth_issuer.kid("EC")][1].public_key()
    claims = jwt.decode(twin, public, algorithms=["ES256"], audience=RESOURCE)
    assert claims["jti"] == "twin-0"


def test_the_high_s_twin_of_a_revoked_es256_token_is_refused_too(
        app: Flask, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 7519 section 4.1.7: revoked by issuer and ``jti``, the token is refused whichever
    form of its signature it arrives with; both forms were accepted before."""
    token = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", jti="twin-1")
    twin = high_s_twin(token)
    client = app.test_client()
    assert client.get("/api/whoami", headers=bearer(token)).status_code == 200
    assert client.get("/api/whoami", headers=bearer(twin)).status_code == 200
    with app.app_context():
        app.extensions["otcauth"].revoke_token("twin-1", issuer=otc_oauth_issuer.issuer)
    for form in (token, twin):
        assert_refused(client.get("/api/whoami", headers=bearer(form)), 401,
                       "credential_revoked")
