"""The shared-state interface, on both backends: claims, values, expiry, namespace, outage."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from flask_otcauth.core.storage import (
    MemoryStorage,
    RedisStorage,
    Storage,
    StorageUnavailable,
    open_storage,
)

from ..conftest import RUN_NAMESPACE

DEAD_REDIS = "redis://127.0.0.1:1/0"
RACERS = 20
ROUNDS = 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
    else:
        yield open_storage(request.getfixturevalue("redis_url"), namespace=f"{RUN_NAMESPACE}:")


def test_first_claim_wins_and_later_ones_lose(storage: Storage) -> None:
    assert storage.set_if_absent("nonce:a", 60) is True
    assert storage.set_if_absent("nonce:a", 60) is False
    assert storage.set_if_absent("nonce:b", 60) is True


@pytest.fixture
def fast_thread_switching() -> Iterator[None]:
    """The interpreter switches threads every microsecond (instead of 5 ms), restored after."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def claims_released_together(pool: ThreadPoolExecutor, storage: Storage, key: str) -> list[bool]:
    """What :data:`RACERS` threads of ``pool``, released at once by a barrier, get claiming
    ``key``."""
    barrier = threading.Barrier(RACERS)

    def claim(_: int) -> bool:
        barrier.wait(timeout=10)
        return storage.set_if_absent(key, 60)

    return list(pool.map(claim, range(RACERS)))


@pytest.mark.usefixtures("fast_thread_switching")
def test_twenty_threads_claiming_one_key_at_once_get_exactly_one_win(storage: Storage) -> None:
    """Round after round (a claim that checks, then sets, lets a second thread through in a few
    rounds out of a hundred in memory, and in most rounds in Redis)."""
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        wins = [claims_released_together(pool, storage, f"nonce:race-{n}").count(True)
                for n in range(ROUNDS)]

    assert wins == [1] * ROUNDS


def test_value_is_stored_and_replaced(storage: Storage) -> None:
    assert storage.get("revoked:1") is None
    storage.set("revoked:1", "first", 60)
    storage.set("revoked:1", "second", 60)

    assert storage.get("revoked:1") == "second"


def test_deleted_key_can_be_claimed_again(storage: Storage) -> None:
    storage.set_if_absent("nonce:a", 60)
    storage.delete("nonce:a")
    storage.delete("never-there")

    assert storage.set_if_absent("nonce:a", 60) is True


@pytest.mark.redis
def test_redis_keys_are_namespaced_and_expire_on_their_own(redis_url: str) -> None:
    import redis  # noqa: PLC0415

    open_storage(redis_url, namespace=f"{RUN_NAMESPACE}:").set_if_absent("nonce:a", 42)
    client = redis.Redis.from_url(redis_url)

    assert list(client.scan_iter(match=f"{RUN_NAMESPACE}:*")) == [
        f"{RUN_NAMESPACE}:nonce:a".encode()]
    assert 0 < client.ttl(f"{RUN_NAMESPACE}:nonce:a") <= 42
    client.close()


def test_memory_claim_expires_after_its_ttl() -> None:
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    storage.set_if_absent("nonce:a", 10)

    clock.now += 9.9
    assert storage.set_if_absent("nonce:a", 10) is False
    clock.now += 0.2
    assert storage.set_if_absent("nonce:a", 10) is True


def test_memory_value_expires_after_its_ttl() -> None:
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    storage.set("k", "v", 5)

    clock.now += 5
    assert storage.get("k") is None


def test_memory_drops_expired_entries_as_it_is_written_to() -> None:
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    for n in range(100):
        storage.set_if_absent(f"nonce:{n}", 10)
    clock.now += 11

    storage.set_if_absent("nonce:new", 10)

    assert len(storage) == 1


def test_memory_replaced_value_keeps_its_new_deadline() -> None:
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    storage.set("k", "old", 5)
    storage.set("k", "new", 50)
    clock.now += 10

    storage.set("other", "x", 5)  # sweeps the old deadline of "k"

    assert storage.get("k") == "new"


@pytest.mark.parametrize("operation", ["set_if_absent", "set", "get", "delete"])
def test_unreachable_redis_raises_storage_unavailable(operation: str) -> None:
    storage = open_storage(DEAD_REDIS)
    arguments = {"set_if_absent": ("k", 5), "set": ("k", "v", 5), "get": ("k",),
                 "delete": ("k",)}[operation]

    with pytest.raises(StorageUnavailable) as raised:
        getattr(storage, operation)(*arguments)
    assert "127.0.0.1" not in str(raised.value)


OUTCOMES = (pytest.fail.Exception, pytest.skip.Exception)


def test_redis_fixture_fails_under_ci_when_redis_py_is_missing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis raises ImportError
    monkeypatch.setenv("CI", "true")

    with pytest.raises(OUTCOMES, match="redis-py is not installed") as outcome:
        request.getfixturevalue("redis_url")
    assert outcome.type is pytest.fail.Exception


def test_redis_fixture_skips_outside_ci_when_redis_py_is_missing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(OUTCOMES, match="redis-py is not installed") as outcome:
        request.getfixturevalue("redis_url")
    assert outcome.type is pytest.skip.Exception


def test_redis_unix_spelling_of_limits_is_understood() -> None:
    assert isinstance(open_storage("redis+unix:///tmp/redis.sock"), RedisStorage)
