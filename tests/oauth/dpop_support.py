"""What the DPoP tests share: an oauth app with DPoP on, bound tokens, requests with a proof,
and a signer that writes any proof header and claims (the malformed ones the checks refuse).
The fixtures (``key``, ``frozen``) are in ``conftest.py``."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any, Final

import jwt
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_otcauth.client import DPoPKey
from flask_otcauth.testing import LocalIssuer

from .conftest import RESOURCE, oauth_app

BASE_URL: Final = "https://tools.example.com"
WHOAMI: Final = f"{BASE_URL}/api/whoami"
ALGS: Final = 'algs="ES256 PS256 EdDSA"'
METADATA: Final = 'resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp"'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(key: DPoPKey, header: dict[str, Any], claims: dict[str, Any],
           alg: str | None = None) -> str:
    """A proof whose header and claims are exactly these, signed with ``key``'s private key."""
    signing_input = (b64(json.dumps(header).encode()) + "."
                     + b64(json.dumps(claims).encode()))
    algorithm = jwt.get_algorithm_by_name(alg or key.algorithm)
    signature = algorithm.sign(signing_input.encode(), key._private_key)
    return f"{signing_input}.{b64(signature)}"


def proof_parts(key: DPoPKey, token: str | None, *, method: str = "GET", url: str = WHOAMI,
                now: float | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a correct proof, for a test to spoil one member of."""
    header = {"typ": "dpop+jwt", "alg": key.algorithm, "jwk": dict(key.public_jwk)}
    claims: dict[str, Any] = {"jti": f"jti-{time.monotonic_ns()}", "htm": method, "htu": url,
                              "iat": int(time.time() if now is None else now)}
    if token is not None:
        claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
    return header, claims


def dpop_app(issuer: LocalIssuer, **overrides: Any) -> Flask:
    return oauth_app(issuer, **{"OTC_AUTH_DPOP": "accepted", **overrides})


def bound_token(issuer: LocalIssuer, key: DPoPKey, alg: str = "ES256", **claims: Any) -> str:
    """An access token bound to ``key`` by ``cnf.jkt`` (RFC 9449 section 6.1)."""
    return issuer.make_token(audience=RESOURCE, alg=alg, cnf={"jkt": key.thumbprint}, **claims)


def send(client: FlaskClient, token: str, proof: str | None, *, method: str = "GET",
         path: str = "/api/whoami", scheme: str = "DPoP", **extra: str) -> TestResponse:
    headers = {"Authorization": f"{scheme} {token}", **extra}
    if proof is not None:
        headers["DPoP"] = proof
    return client.open(path, method=method, base_url=BASE_URL, headers=headers)
