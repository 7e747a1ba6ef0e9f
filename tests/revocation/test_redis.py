"""Revocation entries on the real local Redis: shared by every process, forgotten after the
token's exp plus the leeway (there, and in memory on a controlled clock), and fail closed when
the store does not answer."""

from __future__ import annotations

import pytest
import redis

from flask_otcauth.core.identity import Identity
from flask_otcauth.core.refusals import AuthFailure
from flask_otcauth.core.revocation import Revocations, token_key
from flask_otcauth.core.revocation_config import RevocationSettings
from flask_otcauth.core.storage import MemoryStorage, RedisStorage

from ..helpers import RUN_NAMESPACE

SETTINGS = RevocationSettings(require_jti=False, refuse_on_outage=True, max_lifetime=900,
                              leeway=30)


def test_a_revoked_jti_is_kept_until_exp_plus_the_leeway(redis_url: str) -> None:
    """A controlled clock: the entry's TTL is exp + leeway - now, then Redis forgets it."""
    namespace = RUN_NAMESPACE + ":"
    storage = RedisStorage.from_uri(redis_url, namespace=namespace)
    revocations = Revocations(storage, SETTINGS, clock=lambda: 1_000_000.0)
    revocations.revoke_token("ttl-1", issuer="https://issuer.test", expires_at=1_000_100.0)
    ttl = redis.Redis.from_url(redis_url).ttl(namespace + token_key("https://issuer.test",
                                                                     "ttl-1"))
    assert ttl in (129, 130)


def test_an_expired_token_leaves_no_entry(redis_url: str) -> None:
    storage = RedisStorage.from_uri(redis_url, namespace=RUN_NAMESPACE + ":")
    revocations = Revocations(storage, SETTINGS, clock=lambda: 1_000_000.0)
    revocations.revoke_token("gone-1", expires_at=1_000_000.0 - 31)
    assert not revocations.is_token_revoked("gone-1")


def test_a_store_that_does_not_answer_refuses_with_503() -> None:
    storage = RedisStorage.from_uri("redis://127.0.0.1:1/0", timeout=0.05)
    revocations = Revocations(storage, SETTINGS)
    identity = Identity(method="jwt", subject="agent", claims={"jti": "x", "exp": 1})
    with pytest.raises(AuthFailure) as refused:
        revocations.check(identity)
    assert (refused.value.status, refused.value.code, refused.value.retry_after) == (
        503, "temporarily_unavailable", 5)


def test_a_revoked_jti_is_forgotten_at_exp_plus_the_leeway_on_a_controlled_clock() -> None:
    """One clock for the entry's deadline and the storage's expiry: revoked up to the last
    second of exp + leeway (RFC 7519 section 4.1.4's leeway), gone from then on."""
    now = [1_000_000.0]
    storage = MemoryStorage(clock=lambda: now[0])
    revocations = Revocations(storage, SETTINGS, clock=lambda: now[0])
    revocations.revoke_token("clock-1", expires_at=1_000_100.0)
    now[0] = 1_000_100.0 + 30 - 1
    assert revocations.is_token_revoked("clock-1")
    now[0] += 1
    assert not revocations.is_token_revoked("clock-1")
