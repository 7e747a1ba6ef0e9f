"""Every Redis client the extension opens is bounded by OTC_AUTH_STORAGE_TIMEOUT: connect and
socket timeouts, one retry of a dropped connection, none of a timeout; redis-py's defaults (5 s,
10 retries with backoff) are never kept, unless the URI or the given options say otherwise.

Building a client contacts no server (a cluster's is the exception, tested against a real one in
tests/flask/test_storage_topologies.py), so these read the options of clients as built, and a
socket that accepts connections but never answers shows the admit script's own connections
giving up in time.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from limits import parse_many
from limits.storage import RedisStorage as LimitsRedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import ConnectionError as RedisConnectionError

from flask_otcauth.core.circuit import Circuit
from flask_otcauth.core.ratelimit import RateLimits, build_strategy
from flask_otcauth.core.redis_clients import client_options, open_limits_storage
from flask_otcauth.core.storage import open_storage

TIMEOUT = 0.25


def connection_options(client: Any) -> dict[str, Any]:
    return dict(client.connection_pool.connection_kwargs)


def assert_bounded(options: dict[str, Any], timeout: float = TIMEOUT) -> None:
    assert options["socket_timeout"] == timeout
    assert options["socket_connect_timeout"] == timeout
    retry = options["retry"]
    assert retry.get_retries() == 1
    assert retry._supported_errors == (RedisConnectionError,)  # never a TimeoutError


def test_the_shared_storage_client_is_bounded() -> None:
    storage = open_storage("redis://127.0.0.1:6379/3", timeout=TIMEOUT)

    assert_bounded(connection_options(storage._client))  # type: ignore[attr-defined]


def test_the_rate_limit_storage_client_is_bounded() -> None:
    strategy = build_strategy("redis://127.0.0.1:6379/3", timeout=TIMEOUT)

    assert_bounded(connection_options(strategy.storage.get_connection()))  # type: ignore[attr-defined]


def test_sentinel_clients_are_bounded_both_to_the_sentinels_and_to_the_master() -> None:
    storage = open_limits_storage("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/svc",
                                  TIMEOUT)

    assert_bounded(connection_options(storage.get_connection()))
    assert storage.sentinel.sentinel_kwargs["socket_timeout"] == TIMEOUT
    assert storage.sentinel.sentinel_kwargs["socket_connect_timeout"] == TIMEOUT


def test_cluster_clients_retry_nothing() -> None:
    """The cluster client retries timeouts too: it gets no retry, the circuit takes over."""
    options = client_options("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", TIMEOUT)

    assert options["socket_timeout"] == options["socket_connect_timeout"] == TIMEOUT
    assert options["retry"].get_retries() == 0


def test_the_uri_s_own_options_win() -> None:
    storage = open_storage("redis://127.0.0.1:6379/3?socket_timeout=1.5", timeout=TIMEOUT)

    assert connection_options(storage._client)["socket_timeout"] == 1.5  # type: ignore[attr-defined]


def test_the_given_storage_options_win() -> None:
    strategy = build_strategy("redis://127.0.0.1:6379/3", options={"socket_timeout": 2.0},
                              timeout=TIMEOUT)

    options = connection_options(strategy.storage.get_connection())  # type: ignore[attr-defined]
    assert options["socket_timeout"] == 2.0
    assert options["socket_connect_timeout"] == TIMEOUT


def test_other_storages_get_none_of_these_options() -> None:
    assert client_options("memcached://127.0.0.1:11211", TIMEOUT) == {}
    assert client_options("memory://", TIMEOUT, {"x": 1}) == {"x": 1}


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: a hung Redis."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def test_the_admit_script_s_connections_of_a_given_limiter_are_bounded(
    silent_server: int,
) -> None:
    """A Flask-Limiter's storage keeps redis-py's 5 s: the script's own connections do not."""
    storage = LimitsRedisStorage(f"redis://127.0.0.1:{silent_server}/0")  # as Flask-Limiter does
    limits = RateLimits(FixedWindowRateLimiter(storage),
                        per_identity=tuple(parse_many("10/minute")), per_failure=(),
                        circuit=Circuit("limiter"), timeout=TIMEOUT)

    start = time.perf_counter()
    limits.admit("203.0.113.7", "caller")  # counted in the process: Redis did not answer
    waited = time.perf_counter() - start

    assert TIMEOUT * 0.8 <= waited < TIMEOUT + 1.0
