"""The nonce store's script on a real Redis: a nonce is spent once, and a store that lost its
memory says so instead of reopening the signatures it forgot.

"Lost" is every way a Redis forgets: a flush, a restart without persistence, an eviction (all
of them drop the whole set, with its marker), and another server process taking over the data
(a restart that reloaded an older snapshot, a replica promoted by a failover), seen as a
marker written under another run id. The fault tests (tests/flask/test_storage_faults.py) do
the same to a real multi-worker server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flask_otcauth.core.storage import MemoryStorage, Storage, StorageForgot, open_storage

from ..helpers import RUN_NAMESPACE

pytestmark = pytest.mark.redis

NONCE_SET = f"{RUN_NAMESPACE}:{{hmac-nonces}}"  # where the run's apps keep their nonces
LONG_AGO = 1_000.0
TTL = 300


@pytest.fixture
def server(redis_url: str) -> Iterator[Any]:
    import redis  # noqa: PLC0415 - the redis extra

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def store(redis_url: str) -> Storage:
    return open_storage(redis_url, namespace=RUN_NAMESPACE + ":")


def settled(store: Storage) -> Storage:
    """A store whose memory reaches back long before the signatures the test sends."""
    store.spend_nonce("first-ever", 1, valid_from=LONG_AGO, now=LONG_AGO)
    return store


def test_a_nonce_is_spent_once(store: Storage) -> None:
    settled(store)
    now = time.time()

    assert store.spend_nonce("n1", TTL, valid_from=now - 5, now=now) is True
    assert store.spend_nonce("n1", TTL, valid_from=now - 5, now=now + 1) is False
    assert store.spend_nonce("n2", TTL, valid_from=now - 5, now=now + 1) is True


def test_a_new_store_refuses_what_it_cannot_have_seen(store: Storage) -> None:
    now = time.time()

    with pytest.raises(StorageForgot) as raised:
        store.spend_nonce("n1", TTL, valid_from=now - 5, now=now)

    assert raised.value.remembers_since == pytest.approx(now)
    # Valid only from after the store began: no use of it can have been forgotten.
    assert store.spend_nonce("n2", TTL, valid_from=now + 1, now=now + 6) is True


def test_a_flushed_store_forgets_and_says_so(store: Storage, server: Any) -> None:
    settled(store)
    now = time.time()
    assert store.spend_nonce("n1", TTL, valid_from=now - 5, now=now) is True

    server.flushdb()

    with pytest.raises(StorageForgot):
        store.spend_nonce("n1", TTL, valid_from=now - 5, now=now + 2)


def test_the_store_keeps_refusing_until_a_signature_postdates_its_new_start(
    store: Storage, server: Any
) -> None:
    settled(store)
    server.flushdb()
    start = time.time()
    with pytest.raises(StorageForgot):
        store.spend_nonce("a", TTL, valid_from=start - 5, now=start)

    with pytest.raises(StorageForgot) as raised:
        store.spend_nonce("b", TTL, valid_from=start - 1, now=start + 4)
    assert raised.value.remembers_since == pytest.approx(start)  # the first refusal's time
    assert store.spend_nonce("c", TTL, valid_from=start + 0.5, now=start + 6) is True


def test_a_marker_of_another_server_process_counts_as_lost(
    store: Storage, server: Any
) -> None:
    """A restart from a snapshot, or a promoted replica: the marker came along, but nonces spent
    after the snapshot (or not yet replicated) did not."""
    server.zadd(NONCE_SET, {"epoch:1000.0:0123456789abcdef": float("inf")})
    now = time.time()

    with pytest.raises(StorageForgot) as raised:
        store.spend_nonce("n1", TTL, valid_from=now - 5, now=now)

    assert raised.value.remembers_since == pytest.approx(now)
    markers = [m for m, s in server.zrange(NONCE_SET, 0, -1, withscores=True)
               if s == float("inf")]
    assert len(markers) == 1
    assert b"0123456789abcdef" not in markers[0]


def test_the_set_never_expires_and_drops_spent_nonces_once_forgettable(
    store: Storage, server: Any
) -> None:
    """A volatile-* eviction policy only evicts keys with a TTL: the set has none."""
    settled(store)
    now = time.time()
    store.spend_nonce("old", 10, valid_from=now - 5, now=now)

    store.spend_nonce("new", 10, valid_from=now + 6, now=now + 11)

    assert server.ttl(NONCE_SET) == -1
    members = {m for m, s in server.zrange(NONCE_SET, 0, -1, withscores=True)
               if s != float("inf")}
    assert members == {b"new"}


def test_twenty_threads_spending_one_nonce_get_exactly_one_true(store: Storage) -> None:
    settled(store)
    barrier = threading.Barrier(20)
    now = time.time()

    def spend(n: int) -> bool:
        barrier.wait(timeout=10)
        return store.spend_nonce("raced", TTL, valid_from=now - 5, now=now + n / 1000)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(spend, range(20)))

    assert results.count(True) == 1


def test_memory_storage_spends_a_nonce_once_whatever_the_time() -> None:
    store = MemoryStorage()

    assert store.spend_nonce("n1", TTL, valid_from=0.0, now=1.0) is True
    assert store.spend_nonce("n1", TTL, valid_from=0.0, now=1.0) is False
