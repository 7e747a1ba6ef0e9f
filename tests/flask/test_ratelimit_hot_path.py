"""The cheap way the limits are counted: no Flask-Limiter hooks, one Redis round trip, and no
answer but 429 for a locked-out address (the lock-out is checked after verifying now)."""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limiter

from flask_otcauth import OTCAuth
from flask_otcauth.core.identity import key_fingerprint, sha256
from flask_otcauth.core.ratelimit_scripts import tagged
from flask_otcauth.state import app_state

from ..conftest import RUN_NAMESPACE, AppFactory
from ..helpers import (
    API_KEY,
    AUDIENCE,
    api_key,
    assert_refused,
    bearer,
    make_token,
    with_admin_view,
)
from ..redis_servers import redis_server
from .test_ratelimit import BAD_KEY, WINDOW, statuses


def scoped_app(make_app: AppFactory, **overrides: Any) -> Flask:
    return with_admin_view(make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute", **overrides))


def test_no_flask_limiter_hooks_unless_a_limiter_is_asked_for(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_RATELIMIT="3/minute")
    hooks = [*app.before_request_funcs.get(None, ()), *app.after_request_funcs.get(None, ())]
    assert not [hook for hook in hooks if "flask_limiter" in getattr(hook, "__module__", "")]
    assert "limiter" not in app.extensions


def test_the_limiter_asked_for_is_made_once_on_the_app(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_RATELIMIT="3/minute")
    auth: OTCAuth = app.extensions["otcauth"]
    limiter = auth.limiter(app)
    assert isinstance(limiter, Limiter)
    assert auth.limiter(app) is limiter
    assert app.extensions["limiter"] == {limiter}


def test_the_flask_limiter_strategy_setting_is_honoured(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_RATELIMIT="3/minute", RATELIMIT_STRATEGY="moving-window")
    assert type(app_state(app).gate.rate_limits._strategy).__name__ == (
        "MovingWindowRateLimiter")
    assert statuses(app.test_client(), 4, headers=api_key()) == [200, 200, 200, 429]


def test_an_unknown_strategy_is_refused_at_start_up(make_app: AppFactory) -> None:
    with pytest.raises(ValueError, match="OTC_AUTH_RATELIMIT_STORAGE_URI"):
        make_app(OTC_AUTH_RATELIMIT="3/minute", RATELIMIT_STRATEGY="leaky-bucket")


def test_locked_out_address_gets_429_not_403_for_a_valid_key_without_the_scope(
    make_app: AppFactory,
) -> None:
    client = scoped_app(make_app).test_client()
    assert client.get("/admin", headers=api_key()).status_code == 403  # valid key, no scope
    assert statuses(client, 2, headers=api_key(BAD_KEY)) == [401, 401]
    assert_refused(client.get("/admin", headers=api_key()), 429, "too_many_failed_attempts",
                   retry_after=WINDOW)


def test_locked_out_address_gets_429_for_an_invalid_key_and_it_is_not_counted(
    make_app: AppFactory,
) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute").test_client()
    assert statuses(client, 2, headers=api_key(BAD_KEY)) == [401, 401]
    for _ in range(3):
        assert_refused(client.get("/tools", headers=api_key(BAD_KEY)), 429,
                       "too_many_failed_attempts", retry_after=WINDOW)


def redis_limited(make_app: AppFactory, redis_url: str) -> tuple[FlaskClient, dict[str, str]]:
    """A client of an app counting both limits in Redis, and a token it has used once (so the
    connection is made and the script loaded)."""
    app = make_app(OTC_AUTH_RATELIMIT="100/minute", OTC_AUTH_FAILURE_RATELIMIT="5/minute",
                   OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url)
    client = app.test_client()
    token = bearer(make_token(sub="agent", aud=AUDIENCE))
    assert client.get("/tools", headers=token).status_code == 200
    return client, token


@pytest.mark.redis
def test_an_accepted_request_costs_one_redis_round_trip(
    make_app: AppFactory, redis_url: str, redis_commands: Counter[str]
) -> None:
    client, token = redis_limited(make_app, redis_url)
    redis_commands.clear()
    assert statuses(client, 5, headers=token) == [200] * 5
    assert redis_commands == Counter({"EVALSHA": 5})


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own: SCRIPT FLUSH empties a whole server's script cache,
    which on a shared Redis would be everyone's."""
    pytest.importorskip("redis", reason="redis-py is not installed")
    with redis_server(tmp_path) as server:
        yield server.url


@pytest.mark.redis
@pytest.mark.e2e
def test_a_flushed_script_cache_is_reloaded_without_a_refusal(
    make_app: AppFactory, private_redis: str, redis_commands: Counter[str]
) -> None:
    import redis  # noqa: PLC0415 - the redis extra

    client, token = redis_limited(make_app, private_redis)
    server = redis.Redis.from_url(private_redis)
    server.script_flush()  # as a restarted Redis would have it
    redis_commands.clear()
    assert statuses(client, 2, headers=token) == [200, 200]
    assert redis_commands == Counter({"EVALSHA": 2, "EVAL": 1})
    [counter] = server.keys(f"{RUN_NAMESPACE}:*otcauth/caller*")
    assert int(server.get(counter)) == 3  # all three counted in Redis, none in the process
    server.close()


@pytest.mark.redis
def test_redis_counts_are_the_limits_library_counts(make_app: AppFactory, redis_url: str) -> None:
    app = make_app(OTC_AUTH_RATELIMIT="3/minute", OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url)
    client = app.test_client()
    assert statuses(client, 2, headers=api_key()) == [200, 200]
    limits = app_state(app).gate.rate_limits
    # The caller's name is a hash tag in every key (one cluster slot per caller).
    caller = tagged("api_key:" + key_fingerprint(sha256(API_KEY.encode())))
    stats = limits._strategy.get_window_stats(limits._per_identity[0], "otcauth", "caller",
                                              caller)
    assert stats.remaining == 1
    assert statuses(client, 2, headers=api_key()) == [200, 429]


@pytest.mark.redis
def test_redis_lock_out_answers_429_for_valid_and_invalid_keys(
    make_app: AppFactory, redis_url: str
) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url).test_client()
    assert statuses(client, 2, headers=api_key(BAD_KEY)) == [401, 401]
    assert_refused(client.get("/tools", headers=api_key()), 429, "too_many_failed_attempts",
                   retry_after=WINDOW)
    assert_refused(client.get("/tools", headers=api_key(BAD_KEY)), 429, "too_many_failed_attempts",
                   retry_after=WINDOW)


def test_refusing_many_bad_keys_retains_no_memory(make_app: AppFactory) -> None:
    client = make_app().test_client()
    statuses(client, 50, headers=api_key(BAD_KEY))
    tracemalloc.start()
    try:
        gc.collect()  # garbage awaiting the collector is not retained: count only what stays
        before, _ = tracemalloc.get_traced_memory()
        assert set(statuses(client, 1000, headers=api_key(BAD_KEY))) == {401}
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


def storage_keys(app: Flask) -> dict[tuple[str, str], tuple[str, ...]]:
    """The storage keys the app's limits remember, by (kind, caller or address)."""
    limits = app_state(app).gate.rate_limits
    keys: dict[tuple[str, str], tuple[str, ...]] = limits._storage_keys
    return keys


def test_remembered_storage_keys_stay_within_their_bound(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flask_otcauth.core.ratelimit._MAX_KEYS", 4)
    app = make_app(OTC_AUTH_RATELIMIT="1/minute")
    client = app.test_client()
    for index in range(10):
        token = bearer(make_token(sub=f"agent-{index}", aud=AUDIENCE))
        assert statuses(client, 2, headers=token) == [200, 429]  # counted, forgotten or not
        assert len(storage_keys(app)) <= 4


def test_a_long_caller_name_is_counted_without_remembering_its_keys(
    make_app: AppFactory
) -> None:
    app = make_app(OTC_AUTH_RATELIMIT="1/minute")
    token = bearer(make_token(sub="agent-" + "x" * 1000, aud=AUDIENCE))
    assert statuses(app.test_client(), 2, headers=token) == [200, 429]
    assert not [name for _, name in storage_keys(app) if len(name) > 256]
