"""Server nonces (RFC 9449 section 9): off by default; on, a proof without a fresh one is
401 use_dpop_nonce with a DPoP-Nonce, and accepted responses bring the next nonce."""

from __future__ import annotations

from typing import Any, Final

import pytest
from flask import Flask

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from .conftest import Clock
from .dpop_support import ALGS, METADATA, WHOAMI, bound_token, dpop_app, send

SECRET: Final = "a-nonce-secret-of-more-than-32-bytes-for-tests"
NONCES: Final[dict[str, Any]] = {"OTC_AUTH_DPOP_NONCES": True,
                                 "OTC_AUTH_DPOP_NONCE_SECRET": SECRET}


@pytest.fixture
def app(issuer: LocalIssuer) -> Flask:
    return dpop_app(issuer, **NONCES)


def nonce_of(app: Flask, issuer: LocalIssuer, key: DPoPKey, token: str) -> str:
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token))
    nonce = response.headers["DPoP-Nonce"]
    assert nonce
    return nonce


def test_nonces_are_off_by_default(issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 9: a server that chose no nonce asks for none."""
    token = bound_token(issuer, key)
    response = send(dpop_app(issuer).test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token))
    assert response.status_code == 200
    assert "DPoP-Nonce" not in response.headers


def test_a_proof_without_a_nonce_gets_use_dpop_nonce(app: Flask, issuer: LocalIssuer,
                                                     key: DPoPKey) -> None:
    """RFC 9449 section 9: 401, error="use_dpop_nonce" on the DPoP challenge, DPoP-Nonce."""
    token = bound_token(issuer, key)
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token))
    body = assert_refused(response, 401, "use_dpop_nonce")
    assert response.headers["DPoP-Nonce"]
    assert response.headers.getlist("WWW-Authenticate")[1] == (
        f'DPoP {ALGS}, {METADATA}, error="use_dpop_nonce", error_description="'
        + body["developer_message"] + '"')


def test_the_nonce_given_is_accepted(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 9: the retried proof carries the nonce, and is accepted."""
    token = bound_token(issuer, key)
    nonce = nonce_of(app, issuer, key, token)
    response = send(app.test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token, nonce=nonce))
    assert response.status_code == 200, response.json


def test_an_accepted_response_brings_a_fresh_nonce(app: Flask, issuer: LocalIssuer,
                                                   key: DPoPKey, frozen: Clock) -> None:
    """RFC 9449 section 9.1: the server may send a new nonce with any response."""
    token = bound_token(issuer, key, now=frozen.now)
    nonce = nonce_of(app, issuer, key, token)
    frozen.now += 30
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token,
                                                        nonce=nonce, now=frozen.now))
    assert response.status_code == 200
    assert response.headers["DPoP-Nonce"] not in ("", nonce)


def test_a_nonce_older_than_its_lifetime_is_refused(app: Flask, issuer: LocalIssuer,
                                                   key: DPoPKey, frozen: Clock) -> None:
    """RFC 9449 section 9: nonces expire (default lifetime 60 s)."""
    token = bound_token(issuer, key, now=frozen.now)
    nonce = nonce_of(app, issuer, key, token)
    frozen.now += 61
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token,
                                                        nonce=nonce, now=frozen.now))
    assert_refused(response, 401, "use_dpop_nonce")


def test_a_nonce_of_another_secret_is_refused(app: Flask, issuer: LocalIssuer,
                                              key: DPoPKey) -> None:
    """RFC 9449 section 9: only the server's own nonces count."""
    other = dpop_app(issuer, OTC_AUTH_DPOP_NONCES=True,
                     OTC_AUTH_DPOP_NONCE_SECRET="another-secret-of-more-than-32-bytes!!")
    token = bound_token(issuer, key)
    nonce = nonce_of(other, issuer, key, token)
    response = send(app.test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token, nonce=nonce))
    assert_refused(response, 401, "use_dpop_nonce")


def test_every_worker_accepts_every_workers_nonce(app: Flask, issuer: LocalIssuer,
                                                  key: DPoPKey) -> None:
    """RFC 9449 section 9: stateless nonces; another app with the same secret accepts them."""
    token = bound_token(issuer, key)
    nonce = nonce_of(app, issuer, key, token)
    response = send(dpop_app(issuer, **NONCES).test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token, nonce=nonce))
    assert response.status_code == 200


def test_nonces_without_a_secret_refuse_to_start(issuer: LocalIssuer) -> None:
    """RFC 9449 section 9: every worker must check every other's nonce, so a secret is needed."""
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_DPOP_NONCE_SECRET is not set"):
        dpop_app(issuer, OTC_AUTH_DPOP_NONCES=True)
