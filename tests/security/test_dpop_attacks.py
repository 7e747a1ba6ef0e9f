"""Attacks on DPoP-bound tokens (RFC 9449 section 11): each refused with a 401 that says
nothing of the credential, one test per attack."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_otcauth import guard as guard_module
from flask_otcauth.client import DPoPKey
from flask_otcauth.testing import LocalIssuer

from ..flask.dpop_apps import URL as OTC_URL
from ..flask.dpop_apps import bound_token as otc_bound_token
from ..flask.dpop_apps import dpop_app as otc_dpop_app
from ..flask.dpop_apps import with_key, with_token
from ..helpers import API_KEY, assert_refused
from ..oauth.conftest import (
    WHOAMI,
    Clock,
    b64,
    bearer,
    bound_token,
    dpop_app,
    proof_parts,
    send,
    signed,
)


@pytest.fixture
def app(otc_oauth_issuer: LocalIssuer) -> Flask:
    return dpop_app(otc_oauth_issuer)


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate("ES256")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    controlled = Clock(float(int(time.time())))
    monkeypatch.setattr(guard_module, "time", controlled)
    return controlled


def refused(response: Any, token: str, error: str = "invalid_dpop_proof",
            hint: str | None = None) -> None:
    assert_refused(response, 401, error, hint=hint, presented=token)


def test_replayed_proof(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 11.1: a proof captured in transit and sent again."""
    token = bound_token(otc_oauth_issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    client = app.test_client()
    assert send(client, token, proof).status_code == 200
    refused(send(client, token, proof), token, hint="used before")


def test_proof_for_another_uri(app: Flask, otc_oauth_issuer: LocalIssuer,
                               key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 9: a proof made for another resource."""
    token = bound_token(otc_oauth_issuer, key)
    proof = key.proof("GET", "https://tools.example.com/api/tools", access_token=token)
    refused(send(app.test_client(), token, proof), token, hint="htu")


def test_proof_for_another_host_through_a_spoofed_forwarded_host(
        otc_oauth_issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 9: without ProxyFix, X-Forwarded-Host does not change htu."""
    app = dpop_app(otc_oauth_issuer)
    token = bound_token(otc_oauth_issuer, key)
    proof = key.proof("GET", "https://evil.example.com/api/whoami", access_token=token)
    refused(send(app.test_client(), token, proof, **{"X-Forwarded-Host": "evil.example.com"}),
            token, hint="htu")


def test_proof_behind_proxy_fix_names_the_forwarded_uri(otc_oauth_issuer: LocalIssuer,
                                                         key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 9: behind ProxyFix the URI the client addressed counts."""
    app = dpop_app(otc_oauth_issuer)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_host=1, x_proto=1)  # type: ignore[method-assign]
    token = bound_token(otc_oauth_issuer, key)
    proof = key.proof("GET", "https://public.example.com/api/whoami", access_token=token)
    response = app.test_client().get("/api/whoami", base_url="http://internal:8000", headers={
        "Authorization": f"DPoP {token}", "DPoP": proof,
        "X-Forwarded-Host": "public.example.com", "X-Forwarded-Proto": "https"})
    assert response.status_code == 200, response.json


def test_proof_for_another_method(app: Flask, otc_oauth_issuer: LocalIssuer,
                                  key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 8: a GET proof reused for a POST."""
    token = bound_token(otc_oauth_issuer, key, scope="tools:list tools:call:Math.Add")
    proof = key.proof("GET", "https://tools.example.com/api/call", access_token=token)
    refused(send(app.test_client(), token, proof, method="POST", path="/api/call"), token,
            hint="htm")


def test_stolen_token_without_the_key(app: Flask, otc_oauth_issuer: LocalIssuer,
                                      key: DPoPKey) -> None:
    """RFC 9449 section 1: the thief signs with a key of its own."""
    token = bound_token(otc_oauth_issuer, key)
    thief = DPoPKey.generate("ES256")
    refused(send(app.test_client(), token, thief.proof("GET", WHOAMI, access_token=token)),
            token, hint="cnf.jkt")


def test_stolen_token_sent_as_bearer(app: Flask, otc_oauth_issuer: LocalIssuer,
                                     key: DPoPKey) -> None:
    """RFC 9449 section 7.2: the thief drops the proof and downgrades to Bearer."""
    token = bound_token(otc_oauth_issuer, key)
    refused(app.test_client().get("/api/whoami", headers=bearer(token)), token,
            error="invalid_token", hint="DPoP-bound")


def test_private_key_in_jwk(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 7: a jwk with its private part (d) is refused, unparsed."""
    token = bound_token(otc_oauth_issuer, key)
    header, claims = proof_parts(key, token)
    private = key._private_key.private_numbers().private_value
    header["jwk"]["d"] = b64(private.to_bytes(32, "big"))
    refused(send(app.test_client(), token, signed(key, header, claims)), token,
            hint="private key members")


def test_alg_none(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 5: alg none, with or without a signature."""
    token = bound_token(otc_oauth_issuer, key)
    header, claims = proof_parts(key, token)
    header["alg"] = "none"
    unsigned = signed(key, header, claims, alg="ES256")
    client = app.test_client()
    refused(send(client, token, unsigned), token, hint="signed with one of")
    refused(send(client, token, unsigned.rpartition(".")[0] + "."), token)


def test_alg_hs256_with_the_public_key_as_secret(app: Flask, otc_oauth_issuer: LocalIssuer,
                                                 key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 5: a MAC keyed with public material proves nothing."""
    token = bound_token(otc_oauth_issuer, key)
    header, claims = proof_parts(key, token)
    header["alg"] = "HS256"
    forged = signed(key, header, claims, alg="ES256")
    refused(send(app.test_client(), token, forged), token, hint="signed with one of")


def test_wrong_ath(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 7: a proof made for another token of the same key."""
    token = bound_token(otc_oauth_issuer, key)
    other = bound_token(otc_oauth_issuer, key, jti="other-token")
    refused(send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=other)),
            token, hint="ath")


def test_stale_iat(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey,
                   frozen: Clock) -> None:
    """RFC 9449 section 11.1: a proof pre-made (or kept) long before it is used."""
    token = bound_token(otc_oauth_issuer, key, now=frozen.now)
    refused(send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token,
                                                     now=frozen.now - 3600)),
            token, hint="iat")


def test_two_dpop_headers(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 1: a second proof smuggled beside the first."""
    token = bound_token(otc_oauth_issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    refused(send(app.test_client(), token, proof + ", " + proof), token, hint="exactly one")


def test_iat_in_the_future(app: Flask, otc_oauth_issuer: LocalIssuer, key: DPoPKey,
                           frozen: Clock) -> None:
    """RFC 9449 section 11.1: a proof pre-dated to be used later, outside the window."""
    token = bound_token(otc_oauth_issuer, key, now=frozen.now)
    refused(send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token,
                                                     now=frozen.now + 3600)),
            token, hint="iat")


def test_stolen_bound_api_key_without_a_proof(key: DPoPKey) -> None:
    """RFC 9449 section 7.2 for a key record with jkt: the key alone is not enough."""
    refused(with_key(otc_dpop_app(key), API_KEY, None), API_KEY, hint="bound to a DPoP key")


def test_stolen_bound_api_key_with_the_thiefs_proof(key: DPoPKey) -> None:
    """RFC 9449 section 11.2: the thief's own key's proof does not match the record's jkt."""
    thief = DPoPKey.generate("ES256")
    refused(with_key(otc_dpop_app(key), API_KEY,
                     thief.proof("GET", OTC_URL, access_token=API_KEY)), API_KEY)


def test_stolen_bound_hs256_token_sent_as_bearer(key: DPoPKey) -> None:
    """RFC 9449 section 7.2 for an OTC token with cnf.jkt: Bearer is refused."""
    token = otc_bound_token(key)
    refused(with_token(otc_dpop_app(key), token, None, scheme="Bearer"), token,
            error="invalid_token", hint="DPoP-bound")
