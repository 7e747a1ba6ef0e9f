"""Every key flask-otcauth writes to Redis carries ``OTC_AUTH_STORAGE_NAMESPACE``; so the test
run, which sets a namespace of its own, can delete exactly what it wrote.

On a private redis-server, so that every key in it can be read: nonces, rate-limit counters of
accepted callers and of failing addresses, through HTTP. A key of someone else's survives the
run's clean-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from ..conftest import RUN_NAMESPACE, AppFactory, delete_run_keys
from ..helpers import (
    AUDIENCE,
    HMAC_CLIENT,
    HMAC_SECRET,
    api_key,
    bearer,
    make_token,
    settle_nonce_store,
    signed,
)
from ..redis_servers import redis_server
from .test_ratelimit import BAD_KEY

pytestmark = [pytest.mark.redis, pytest.mark.e2e]
redis = pytest.importorskip("redis", reason="redis-py is not installed")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Any]:
    """A redis-server of this test's own, and a client of it."""
    with redis_server(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        try:
            yield client
        finally:
            client.close()


def uri(server: Any) -> str:
    options = server.connection_pool.connection_kwargs
    return f"redis://{options['host']}:{options['port']}/0"


def busy_client(make_app: AppFactory, server: Any, **overrides: Any) -> FlaskClient:
    """An app counting both limits and spending nonces in ``server``, after one request of
    each kind: accepted (a caller's count), refused (an address's failures), signed (a nonce)."""
    app = make_app(OTC_AUTH_METHODS=["jwt", "api_key", "hmac"],
                   OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: HMAC_SECRET},
                   OTC_AUTH_RATELIMIT="100/minute", OTC_AUTH_FAILURE_RATELIMIT="50/minute",
                   OTC_AUTH_RATELIMIT_STORAGE_URI=uri(server), **overrides)
    # A new nonce store refuses signatures older than its first use: settle it first.
    settle_nonce_store(uri(server), namespace=app.config.get("OTC_AUTH_STORAGE_NAMESPACE",
                                                             "otcauth"))
    client = app.test_client()
    assert client.get("/tools", headers=bearer(make_token(sub="a", aud=AUDIENCE))).status_code \
        == 200
    assert client.get("/tools", headers=api_key(BAD_KEY)).status_code == 401
    assert client.get("/tools", headers=signed("GET", "/tools")).status_code == 200
    return client


def keys(server: Any) -> list[str]:
    return sorted(key.decode() for key in server.scan_iter(count=1000))


def test_every_key_the_runs_apps_write_carries_the_runs_namespace(
    make_app: AppFactory, private_redis: Any
) -> None:
    busy_client(make_app, private_redis)

    written = keys(private_redis)
    assert written
    assert all(key.startswith(f"{RUN_NAMESPACE}:") for key in written), written
    assert any("hmac-nonce" in key for key in written)
    assert any("otcauth/caller" in key for key in written)
    assert any("otcauth/failed" in key for key in written)


def test_the_run_deletes_its_own_keys_and_no_one_elses(
    make_app: AppFactory, private_redis: Any
) -> None:
    private_redis.set("someone-else:data", "keep me")
    private_redis.set(f"{RUN_NAMESPACE}-not-ours:data", "keep me too")
    busy_client(make_app, private_redis)

    deleted = delete_run_keys(private_redis)

    assert deleted >= 3
    assert keys(private_redis) == [f"{RUN_NAMESPACE}-not-ours:data", "someone-else:data"]


def test_without_the_setting_keys_start_with_otcauth(
    make_app: AppFactory, private_redis: Any
) -> None:
    busy_client(make_app, private_redis, OTC_AUTH_STORAGE_NAMESPACE="otcauth")

    assert all(key.startswith("otcauth:") for key in keys(private_redis)), keys(private_redis)


def test_a_key_prefix_in_ratelimit_storage_options_wins_for_the_counters(
    make_app: AppFactory, private_redis: Any
) -> None:
    busy_client(make_app, private_redis,
                RATELIMIT_STORAGE_OPTIONS={"key_prefix": f"{RUN_NAMESPACE}-limits"})

    counters = [key for key in keys(private_redis) if "LIMITER" in key]
    nonces = [key for key in keys(private_redis) if "hmac-nonce" in key]
    assert counters
    assert all(key.startswith(f"{RUN_NAMESPACE}-limits:") for key in counters)
    assert all(key.startswith(f"{RUN_NAMESPACE}:") for key in nonces)


def test_apps_in_two_namespaces_of_one_redis_count_apart(
    make_app: AppFactory, private_redis: Any
) -> None:
    def limited(namespace: str) -> FlaskClient:
        return make_app(OTC_AUTH_RATELIMIT="2/minute", OTC_AUTH_STORAGE_NAMESPACE=namespace,
                        OTC_AUTH_RATELIMIT_STORAGE_URI=uri(private_redis)).test_client()

    first, second = limited(f"{RUN_NAMESPACE}-a"), limited(f"{RUN_NAMESPACE}-b")
    statuses = [client.get("/tools", headers=api_key()).status_code
                for client in (first, first, second, second, first)]

    assert statuses == [200, 200, 200, 200, 429]


@pytest.mark.parametrize("namespace", ["", "otcauth:*", "a b", "trailing:", "x" * 65, 7])
def test_a_namespace_that_cannot_be_scanned_for_is_refused(
    make_app: AppFactory, namespace: object
) -> None:
    from flask_otcauth import OTCAuthConfigError  # noqa: PLC0415

    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_STORAGE_NAMESPACE must be"):
        make_app(OTC_AUTH_STORAGE_NAMESPACE=namespace)


def test_the_redis_fixture_leaves_the_rest_of_a_shared_database_alone(
    request: pytest.FixtureRequest,
) -> None:
    """What the fixture runs before and after each test, on OTCAUTH_TEST_REDIS_URL itself."""
    shared = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    foreign = f"someone-else-{RUN_NAMESPACE}:data"
    shared.set(foreign, "keep me", ex=60)
    shared.set(f"{RUN_NAMESPACE}:ours", "delete me", ex=60)
    try:
        assert delete_run_keys(shared) == 1
        assert shared.get(foreign) == b"keep me"
        assert shared.get(f"{RUN_NAMESPACE}:ours") is None
    finally:
        shared.delete(foreign)
        shared.close()
