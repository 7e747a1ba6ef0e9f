"""The verified-token cache: bounded, successes only, expiry re-checked, whole-token keys."""

from __future__ import annotations

import gc
import time
import tracemalloc
from string import ascii_lowercase
from types import MappingProxyType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_otcauth.core.cache import VerifiedTokenCache
from flask_otcauth.core.identity import Identity
from flask_otcauth.core.methods.jwt import MAX_TOKEN_LENGTH, JwtScheme
from flask_otcauth.state import app_state

from ..conftest import build_app
from ..helpers import AUDIENCE, JWT_SECRET, OLD_JWT_SECRET, bearer, make_token

IDENTITY = Identity(method="jwt", subject="agent", claims=MappingProxyType({"exp": 0}))


def verified_tokens(app: Flask) -> VerifiedTokenCache:
    scheme = app_state(app).gate.authenticator._schemes["jwt"]
    assert isinstance(scheme, JwtScheme)
    return scheme._verified


def test_a_hit_returns_the_identity_the_token_proved() -> None:
    cache = VerifiedTokenCache()
    cache.put("token", valid_until=100.0, identity=IDENTITY)
    assert cache.get("token", now=99.9) is IDENTITY


def test_a_hit_at_or_after_expiry_is_a_miss_and_forgets_the_token() -> None:
    cache = VerifiedTokenCache()
    cache.put("token", valid_until=100.0, identity=IDENTITY)
    assert cache.get("token", now=100.0) is None
    assert len(cache) == 0


def test_a_million_distinct_tokens_stay_within_both_bounds() -> None:
    cache = VerifiedTokenCache(max_entries=64, max_bytes=16 * 1024)
    for index in range(1_000_000):
        cache.put(f"token-{index}", valid_until=1e12, identity=IDENTITY)
    assert len(cache) <= 64
    assert cache.size_in_bytes <= 16 * 1024
    assert cache.get("token-999999", now=0.0) is IDENTITY  # the newest stay, the oldest go
    assert cache.get("token-0", now=0.0) is None


def test_memory_stops_growing_at_the_byte_bound() -> None:
    cache = VerifiedTokenCache(max_entries=1_000_000, max_bytes=256 * 1024)
    big = Identity(method="jwt", claims=MappingProxyType({"exp": 0, "blob": "x" * 2000}))
    tracemalloc.start()
    try:
        for index in range(2_000):
            cache.put(f"token-{index}-" + "y" * 2000, valid_until=1e12, identity=big)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert cache.size_in_bytes <= 256 * 1024
    assert held < 2 * 256 * 1024  # the estimate covers what the entries really hold


def _nested_arrays(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


# Claims whose decoded objects are as large as JSON can make them for their length.
ADVERSARIAL_CLAIMS: dict[str, dict[str, Any]] = {
    "nested arrays": {"x": _nested_arrays(800)},
    "empty objects": {"x": [{}] * 1300},
    "empty arrays": {"x": [[]] * 1500},
    "two-character strings": {"x": ["ab"] * 1000},
    "many members": {f"k{index}": 0 for index in range(600)},
    "two-character scopes": {"scope": " ".join(first + second for first in ascii_lowercase
                                               for second in ascii_lowercase)},
    "astral characters": {"x": ["\U0001f600"] * 150},
}


@pytest.mark.parametrize("shape", sorted(ADVERSARIAL_CLAIMS))
def test_the_size_estimate_covers_what_a_cached_token_really_holds(shape: str) -> None:
    app = build_app()
    token = make_token(sub="agent", **ADVERSARIAL_CLAIMS[shape])
    assert len(token) <= MAX_TOKEN_LENGTH
    cache = verified_tokens(app)
    tracemalloc.start()
    try:
        assert app.test_client().get("/tools", headers=bearer(token)).status_code == 200
        gc.collect()
        with_entry, _ = tracemalloc.get_traced_memory()
        estimate = cache.size_in_bytes
        cache.clear()
        gc.collect()
        without_entry, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = with_entry - without_entry
    assert held > 4 * len(token)  # the shape is as heavy as meant: the measure sees it
    assert held <= estimate


def test_an_entry_larger_than_the_byte_bound_is_not_kept() -> None:
    cache = VerifiedTokenCache(max_bytes=1024)
    cache.put("t" * 4096, valid_until=1e12, identity=IDENTITY)
    assert len(cache) == 0


def test_reused_token_is_verified_once(client: FlaskClient, app: Flask) -> None:
    token = make_token(sub="agent", aud=AUDIENCE)
    for _ in range(3):
        assert client.get("/tools", headers=bearer(token)).status_code == 200
    assert len(verified_tokens(app)) == 1


def test_refused_tokens_are_never_cached(client: FlaskClient, app: Flask) -> None:
    forged = make_token("forged-secret-" + "q" * 32, sub="agent")
    for _ in range(2):
        assert client.get("/tools", headers=bearer(forged)).status_code == 401
    assert len(verified_tokens(app)) == 0


def test_a_cached_token_is_refused_once_it_expires(make_app) -> None:  # type: ignore[no-untyped-def]
    # Already past exp but within the leeway: accepted, and cached until exp + leeway.
    client = make_app(OTC_AUTH_JWT_LEEWAY=2).test_client()
    token = make_token(ttl=-1.0, sub="agent")
    assert client.get("/tools", headers=bearer(token)).status_code == 200
    time.sleep(1.1)
    response = client.get("/tools", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None
    assert "expired" in response.json["developer_message"]


def test_a_token_differing_from_a_cached_one_in_its_last_character_is_refused(
    client: FlaskClient,
) -> None:
    token = make_token(sub="agent")
    assert client.get("/tools", headers=bearer(token)).status_code == 200
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/tools", headers=bearer(tampered)).status_code == 401


def test_new_secrets_forget_tokens_verified_with_the_old() -> None:
    app = build_app(OTC_AUTH_JWT_SECRET=[JWT_SECRET, OLD_JWT_SECRET])
    token = make_token(OLD_JWT_SECRET, sub="agent")
    assert app.test_client().get("/tools", headers=bearer(token)).status_code == 200
    app.config["OTC_AUTH_JWT_SECRET"] = [JWT_SECRET]  # the rotation is over: retire the old one
    app.extensions["otcauth"].init_app(app)
    assert app.test_client().get("/tools", headers=bearer(token)).status_code == 401
