"""Seen proofs (RFC 9449 section 11.1): one claim per (thumbprint, jti), in Redis shared by
every app on it, bounded in memory, and failing closed when the store cannot answer."""

from __future__ import annotations

import jwt
import redis

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.dpop_replay import ENTRY_BYTES, BoundedMemory, replay_key
from flask_otcauth.testing import LocalIssuer

from ..helpers import RUN_NAMESPACE, assert_refused
from .conftest import Clock
from .dpop_support import WHOAMI, bound_token, dpop_app, proof_parts, send, signed


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
    """RFC 9449 section 11.1 through HTTP: the 65536-byte minimum holds 327 proofs, then 503."""
    app = dpop_app(issuer, OTC_AUTH_DPOP_REPLAY_MEMORY_BYTES=65536)
    key = DPoPKey.generate("ES256")
    token = bound_token(issuer, key, now=frozen.now)
    client = app.test_client()
    statuses = [send(client, token, key.proof("GET", WHOAMI, access_token=token,
                                              now=frozen.now)).status_code
                for _ in range(65536 // ENTRY_BYTES + 1)]
    assert statuses[:-1] == [200] * (65536 // ENTRY_BYTES)
    assert statuses[-1] == 503
