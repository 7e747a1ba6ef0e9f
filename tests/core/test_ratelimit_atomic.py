"""The limits' decisions are one step each: a failure is checked and counted together, so a
failure limit of N gives exactly N refusals of 401 however many threads race for them; and a
storage that does not answer is counted around, or refused, as configured.

Twenty threads released by a barrier with the interpreter switching threads every microsecond:
checked, then counted, in two steps, most of them would pass the check before any counts.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from limits import parse_many

from flask_otcauth.core.circuit import Circuit
from flask_otcauth.core.ratelimit import RateLimits, build_strategy
from flask_otcauth.core.refusals import AuthFailure

from ..helpers import RUN_NAMESPACE

# Counters under the run's namespace, which the Redis fixture deletes (and nothing else).
RUN_OPTIONS = {"key_prefix": RUN_NAMESPACE}
THREADS = 20
ATTEMPTS = 200
LIMIT = 50
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def fast_thread_switching() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def limits_on(uri: str, *, identity: str | None = None, failures: str | None = f"{LIMIT}/minute",
              refuse: bool = False) -> RateLimits:
    return RateLimits(build_strategy(uri, options=RUN_OPTIONS),
                      per_identity=tuple(parse_many(identity)) if identity else (),
                      per_failure=tuple(parse_many(failures)) if failures else (),
                      circuit=Circuit(uri), refuse_on_outage=refuse)


def failures_answered_401(limits: RateLimits, address: str = "203.0.113.7") -> int:
    """How many of ATTEMPTS failures, from THREADS threads at once, were counted (a 401)."""
    barrier = threading.Barrier(THREADS)

    def attempt(n: int) -> bool:
        if n < THREADS:
            barrier.wait(timeout=10)
        try:
            limits.record_failure(address)
        except AuthFailure as refused:
            assert refused.code == "too_many_failed_attempts"
            return False
        return True

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return sum(pool.map(attempt, range(ATTEMPTS)))


def test_failure_limit_is_exact_in_memory() -> None:
    assert failures_answered_401(limits_on("memory://")) == LIMIT


@pytest.mark.redis
def test_failure_limit_is_exact_on_redis(redis_url: str) -> None:
    assert failures_answered_401(limits_on(redis_url)) == LIMIT


@pytest.mark.redis
def test_failure_limit_is_exact_on_redis_with_two_limits(redis_url: str) -> None:
    """Each failure is counted against both or neither: the tighter one decides."""
    limits = limits_on(redis_url, failures=f"{LIMIT}/minute;{LIMIT * 10}/hour")

    assert failures_answered_401(limits) == LIMIT


@pytest.mark.redis
def test_failure_limit_is_exact_with_a_moving_window(redis_url: str) -> None:
    limits = RateLimits(build_strategy(redis_url, "moving-window", RUN_OPTIONS), per_identity=(),
                        per_failure=tuple(parse_many(f"{LIMIT}/minute")))

    assert failures_answered_401(limits) == LIMIT


@pytest.mark.redis
def test_every_key_carries_its_name_as_a_hash_tag(redis_url: str) -> None:
    import redis  # noqa: PLC0415 - the redis extra

    limits = limits_on(redis_url, identity="5/minute;100/hour")
    limits.record_failure("203.0.113.7")
    limits.admit("203.0.113.7", "api_key:abc")

    keys = sorted(redis.Redis.from_url(redis_url).keys(f"{RUN_NAMESPACE}:*"))
    assert keys == [f"{RUN_NAMESPACE}:{key}".encode() for key in (
        "LIMITER/otcauth/caller/{api_key:abc}/100/1/hour",
        "LIMITER/otcauth/caller/{api_key:abc}/5/1/minute",
        "LIMITER/otcauth/failed/{203.0.113.7}/50/1/minute",
    )]


def test_an_unreachable_storage_counts_in_the_process_by_default() -> None:
    limits = limits_on(DEAD_REDIS, identity="2/minute", failures=None)

    limits.admit("203.0.113.7", "caller")
    limits.admit("203.0.113.7", "caller")
    with pytest.raises(AuthFailure) as refused:
        limits.admit("203.0.113.7", "caller")

    assert (refused.value.status, refused.value.code) == (429, "rate_limited")


@pytest.mark.parametrize("decision", ["admit", "record_failure", "refuse_if_failing"])
def test_an_unreachable_storage_is_refused_with_503_when_asked_to(decision: str) -> None:
    limits = limits_on(DEAD_REDIS, identity="2/minute", refuse=True)
    arguments: dict[str, tuple[Any, ...]] = {
        "admit": ("203.0.113.7", "caller"), "record_failure": ("203.0.113.7",),
        "refuse_if_failing": ("203.0.113.7",)}

    with pytest.raises(AuthFailure) as refused:
        getattr(limits, decision)(*arguments[decision])

    assert (refused.value.status, refused.value.code) == (503, "temporarily_unavailable")
    assert refused.value.retry_after == 5
