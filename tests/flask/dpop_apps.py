"""Apps whose OTC credentials take DPoP proofs (RFC 9449), and requests that carry them: a
token bound by ``cnf.jkt``, an API key record and an hmac client registered with ``jkt``."""

from __future__ import annotations

from typing import Any, Final

from flask import Flask
from werkzeug.test import TestResponse

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.keys import hash_key

from ..conftest import build_app
from ..helpers import API_KEY, AUDIENCE, HMAC_CLIENT, HMAC_SECRET, OTHER_API_KEY, make_token, signed

URL: Final = "http://localhost/tools"
BOUND_KEY_ID: Final = "bound-bot"


def dpop_app(key: DPoPKey | None = None, *, jkt: str | None = None, dpop: str = "accepted",
             dpop_methods: tuple[str, ...] = ("jwt", "api_key", "hmac"),
             **overrides: Any) -> Flask:
    """jwt, api_key and hmac, DPoP on for ``dpop_methods``; with ``key`` (or the thumbprint
    ``jkt`` of a key held elsewhere), ``API_KEY`` and the hmac client are bound to it,
    ``OTHER_API_KEY`` is not."""
    keys: list[Any] = [{"id": "unbound-bot", "hash": hash_key(OTHER_API_KEY)}]
    client: dict[str, Any] = {"secrets": [HMAC_SECRET]}
    jkt = key.thumbprint if key is not None else jkt
    if jkt is not None:
        keys.append({"id": BOUND_KEY_ID, "hash": hash_key(API_KEY), "jkt": jkt})
        client["jkt"] = jkt
    config: dict[str, Any] = {
        "OTC_AUTH_METHODS": ["jwt", "api_key", "hmac"], "OTC_AUTH_API_KEYS": keys,
        "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: client}, "OTC_AUTH_DPOP": dpop,
        "OTC_AUTH_DPOP_METHODS": list(dpop_methods), **overrides}
    return build_app(**config)


def bound_token(key: DPoPKey | None, **claims: Any) -> str:
    """An OTC HS256 token, bound to ``key`` by ``cnf.jkt`` (RFC 9449 section 6.1)."""
    if key is not None:
        claims["cnf"] = {"jkt": key.thumbprint}
    return make_token(aud=AUDIENCE, sub="alice", **claims)


def get(app: Flask, headers: dict[str, str]) -> TestResponse:
    return app.test_client().get(URL, headers=headers)


def with_token(app: Flask, token: str, proof: str | None, scheme: str = "DPoP") -> TestResponse:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return get(app, headers)


def with_key(app: Flask, api_key: str, proof: str | None) -> TestResponse:
    headers = {"OTC-API-Key": api_key}
    if proof is not None:
        headers["DPoP"] = proof
    return get(app, headers)


def with_signature(app: Flask, proof: str | None) -> TestResponse:
    headers = signed("GET", "/tools")
    if proof is not None:
        headers["DPoP"] = proof
    return get(app, headers)
