"""What DPoP remembers and what it need not: seen proofs (RFC 9449 section 11.1), one claim per
(thumbprint, jti), in Redis shared by every app on it, bounded in memory, failing closed when
the store cannot answer; and server nonces (section 9), off by default, stateless when on."""

from __future__ import annotations

from typing import Any, Final

import jwt
import pytest
import redis
from flask import Flask

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.dpop_replay import ENTRY_BYTES, BoundedMemory, replay_key
from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.testing import LocalIssuer

from ..helpers import RUN_NAMESPACE, assert_refused
from .conftest import (
    ALGS,
    METADATA,
    WHOAMI,
    Clock,
    bound_token,
    dpop_app,
    proof_parts,
    send,
    signed,
)


def test_a_proof_spent_in_one_app_is_refused_by_another_on_the_same_redis(
        issuer: LocalIssuer, key: DPoPKey, redis_url: str) -> None:
    """RFC 9449 section 11.1: the jti is remembered where every worker sees it."""
    first, second = (dpop_app(issuer, OTC_AUTH_STORAGE_URI=redis_url) for _ in range(2))
    token = bound_token(issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    assert send(first.test_client(), token, proof).status_code == 200
    assert_refused(send(second.test_client(), token, proof), 401, "invalid_dpop_proof",
                   hint="was used before")


def test_redis_holds_the_proof_for_twice_the_window(issuer: LocalIssuer, key: DPoPKey,
                                                    redis_url: str) -> None:
    """RFC 9449 section 11.1: a jti is kept while its iat could be accepted (2 x 300 s + 1)."""
    app = dpop_app(issuer, OTC_AUTH_STORAGE_URI=redis_url)
    token = bound_token(issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    assert send(app.test_client(), token, proof).status_code == 200
    jti = jwt.decode(proof, options={"verify_signature": False})["jti"]
    client = redis.Redis.from_url(redis_url)
    ttl = client.ttl(f"{RUN_NAMESPACE}:{replay_key(key.thumbprint, jti)}")
    client.close()
    assert 590 <= ttl <= 601


def test_the_same_jti_under_another_key_is_another_proof(issuer: LocalIssuer) -> None:
    """RFC 9449 section 11.1: replay is tracked per key, on (thumbprint, jti)."""
    app = dpop_app(issuer)
    for _ in range(2):
        key = DPoPKey.generate("ES256")
        token = bound_token(issuer, key)
        header, claims = proof_parts(key, token)
        claims["jti"] = "the-same-jti"
        assert send(app.test_client(), token, signed(key, header, claims)).status_code == 200


def test_an_unanswering_store_refuses_with_503(issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 11.1: without the replay check no proof is accepted (fail closed)."""
    app = dpop_app(issuer, OTC_AUTH_STORAGE_URI="redis://127.0.0.1:1/0")
    token = bound_token(issuer, key)
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token))
    assert_refused(response, 503, "temporarily_unavailable", hint="did not answer",
                   retry_after=(1, 60))


def test_memory_full_of_live_proofs_refuses_rather_than_forgets() -> None:
    """RFC 9449 section 11.1: a bounded memory never drops a live jti (a replay would pass)."""
    memory = BoundedMemory(3 * ENTRY_BYTES)
    assert [memory.claim(f"k{n}", 10, 100.0) for n in range(3)] == [True, True, True]
    assert memory.claim("k3", 10, 105.0) is None
    assert memory.claim("k0", 10, 105.0) is False
    assert memory.claim("k3", 10, 110.0) is True  # the first three expired at 110
    assert len(memory) == 1


def test_a_full_memory_answers_503(issuer: LocalIssuer, frozen: Clock) -> None:
    """RFC 9449 section 11.1 through HTTP: the 65536-byte minimum holds 256 proofs, then 503."""
    app = dpop_app(issuer, OTC_AUTH_DPOP_REPLAY_MEMORY_BYTES=65536)
    key = DPoPKey.generate("ES256")
    token = bound_token(issuer, key, now=frozen.now)
    client = app.test_client()
    statuses = [send(client, token, key.proof("GET", WHOAMI, access_token=token,
                                              now=frozen.now)).status_code
                for _ in range(65536 // ENTRY_BYTES + 1)]
    assert statuses[:-1] == [200] * (65536 // ENTRY_BYTES)
    assert statuses[-1] == 503


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
