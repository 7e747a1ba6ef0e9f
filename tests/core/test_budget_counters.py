"""The budget counters' atomic spend, the same on both backends: exactly the limit, under
threads racing for the last units, and an added cost that overdraws without a check."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from flask_otcauth.core.storage import MemoryStorage, Storage, open_storage

from ..helpers import RUN_NAMESPACE


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Storage:
    if request.param == "memory":
        return MemoryStorage()
    url = request.getfixturevalue("redis_url")
    return open_storage(url, namespace=RUN_NAMESPACE + ":")


def _spender(storage: Storage, keys: list[str], limits: list[int]) -> Callable[[int], int]:
    def spend(_: int) -> int:
        refused, _used = storage.spend(keys, limits, 1, 60)
        return refused

    return spend


def test_racing_spends_admit_exactly_the_limit(storage: Storage) -> None:
    keys = [f"{{budget-test}}:{secrets.token_hex(4)}"]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(_spender(storage, keys, [25]), range(60)))

    assert outcomes.count(0) == 25
    assert storage.spend(keys, [25], 0, 60) == (0, [25])


def test_a_spend_that_does_not_fit_one_counter_spends_in_none(storage: Storage) -> None:
    keys = [f"{{budget-test}}:own-{secrets.token_hex(4)}",
            f"{{budget-test}}:tenant-{secrets.token_hex(4)}"]

    assert storage.spend(keys, [10, 3], 3, 60) == (0, [3, 3])
    assert storage.spend(keys, [10, 3], 1, 60) == (2, [3, 3])
    assert storage.spend(keys, [10, 3], 0, 60) == (0, [3, 3])


def test_an_unchecked_spend_overdraws(storage: Storage) -> None:
    keys = [f"{{budget-test}}:{secrets.token_hex(4)}"]
    storage.spend(keys, [5], 4, 60)

    assert storage.spend(keys, [5], 7, 60, check=False) == (0, [11])
    assert storage.spend(keys, [5], 1, 60) == (1, [11])


def test_spending_in_memory_keeps_one_entry_per_counter() -> None:
    """A counter spent all day long must not grow the storage by an entry per call."""
    storage = MemoryStorage()
    keys = ["{budget-test}:own", "{budget-test}:tenant"]

    for _ in range(100):
        storage.spend(keys, [1000, 1000], 1, 60)

    assert storage.spend(keys, [1000, 1000], 0, 60) == (0, [100, 100])
    assert len(storage) == 2
    assert len(storage._deadlines) == 2
