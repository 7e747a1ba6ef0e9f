"""The circuit of a shared-storage server: one timeout, then no waiting until a probe answers.

A fake clock drives the circuit itself; a socket that accepts connections and never answers
(what a Redis stopped with SIGSTOP looks like from outside) shows the storage paying the
timeout once, then failing at once.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from flask_otcauth.core.audit import storage_recovered, storage_unavailable
from flask_otcauth.core.circuit import Circuit, Circuits, server_address
from flask_otcauth.core.storage import StorageUnavailable, open_storage

TIMEOUT = 0.2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def circuit(clock: Clock) -> Circuit:
    return Circuit("redis://10.0.0.5:6379", sender="the app", interval=1.0, clock=clock)


def storage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flask_otcauth" and r.levelno == logging.WARNING
            and r.__dict__.get("otcauth", {}).get("outcome", "").startswith("storage_")]


def test_a_new_circuit_is_closed(circuit: Circuit) -> None:
    assert circuit.open is False


def test_a_failure_opens_the_circuit_with_one_warning(
    circuit: Circuit, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_otcauth"):
        circuit.failed(TimeoutError())
        circuit.failed(TimeoutError())  # still open: nothing more is said

    assert circuit.open is True
    [warning] = storage_warnings(caplog)
    assert "redis://10.0.0.5:6379 is unavailable (TimeoutError)" in warning.getMessage()
    assert warning.__dict__["otcauth"]["outcome"] == "storage_unavailable"


def test_an_open_circuit_lets_one_probe_through_per_interval(
    circuit: Circuit, clock: Clock
) -> None:
    circuit.failed(ConnectionError())

    assert circuit.probe() is False  # within the interval: go straight to the fallback
    clock.now += 1.0
    assert [circuit.probe(), circuit.probe(), circuit.probe()] == [True, False, False]
    clock.now += 1.0
    assert circuit.probe() is True


def test_a_failed_probe_waits_a_whole_interval_again(circuit: Circuit, clock: Clock) -> None:
    circuit.failed(ConnectionError())
    clock.now += 1.0
    assert circuit.probe() is True
    clock.now += 0.25  # the probe took its timeout, and failed
    circuit.failed(TimeoutError())

    clock.now += 0.9
    assert circuit.probe() is False


def test_an_answer_closes_the_circuit_with_one_warning_naming_the_outage(
    circuit: Circuit, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    circuit.failed(TimeoutError())
    clock.now += 3.5
    caplog.clear()

    with caplog.at_level(logging.WARNING, logger="flask_otcauth"):
        circuit.answered()
        circuit.answered()

    assert circuit.open is False
    [warning] = storage_warnings(caplog)
    assert "answers again, after 3.5 s" in warning.getMessage()
    assert warning.__dict__["otcauth"] == {"outcome": "storage_recovered",
                                           "storage": "redis://10.0.0.5:6379", "outage": 3.5}


def test_opening_and_closing_send_one_signal_each(circuit: Circuit, clock: Clock) -> None:
    sent: list[tuple[str, Any, dict[str, Any]]] = []

    def unavailable(sender: Any, **extra: Any) -> None:
        sent.append(("unavailable", sender, extra))

    def recovered(sender: Any, **extra: Any) -> None:
        sent.append(("recovered", sender, extra))

    with storage_unavailable.connected_to(unavailable), \
            storage_recovered.connected_to(recovered):
        circuit.failed(TimeoutError())
        circuit.failed(TimeoutError())
        clock.now += 2
        circuit.answered()

    assert sent == [
        ("unavailable", "the app", {"storage": "redis://10.0.0.5:6379", "error": "TimeoutError"}),
        ("recovered", "the app", {"storage": "redis://10.0.0.5:6379", "outage": 2.0}),
    ]


@pytest.mark.parametrize(("uri", "address"), [
    ("redis://user:pw@10.0.0.5:6379/0?password=x", "redis://10.0.0.5:6379"),
    ("rediss://10.0.0.5:6380/3", "rediss://10.0.0.5:6380"),
    ("redis+sentinel://:pw@s1:26379,s2:26379/orders", "redis+sentinel://s1:26379,s2:26379/orders"),
    ("redis+cluster://c1:7000,c2:7001", "redis+cluster://c1:7000,c2:7001"),
    ("redis+unix:///run/redis.sock", "redis+unix:///run/redis.sock"),
])
def test_a_server_is_named_without_credentials_or_database(uri: str, address: str) -> None:
    assert server_address(uri) == address


def test_two_databases_of_one_server_share_a_circuit() -> None:
    circuits = Circuits()

    assert circuits.for_uri("redis://h:6379/0") is circuits.for_uri("redis://h:6379/1")
    assert circuits.for_uri("redis://h:6379/0") is not circuits.for_uri("redis://h:6380/0")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections (the kernel completes them) and never answers: a hung Redis."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def timed_failure(call: Any) -> float:
    start = time.perf_counter()
    with pytest.raises(StorageUnavailable):
        call()
    return time.perf_counter() - start


def test_a_hung_redis_costs_one_timeout_then_nothing(silent_server: int) -> None:
    storage = open_storage(f"redis://127.0.0.1:{silent_server}/0", timeout=TIMEOUT)

    first = timed_failure(lambda: storage.get("k"))
    following = [timed_failure(lambda: storage.set_if_absent("k", 5)) for _ in range(20)]

    assert TIMEOUT * 0.8 <= first < TIMEOUT + 1.0  # no retry of a timeout, no backoff
    assert max(following) < 0.05  # not asked: the circuit is open


def test_a_hung_redis_is_probed_again_after_the_interval(silent_server: int) -> None:
    circuits = Circuits(interval=0.3)
    uri = f"redis://127.0.0.1:{silent_server}/0"
    storage = open_storage(uri, timeout=TIMEOUT, circuit=circuits.for_uri(uri))
    timed_failure(lambda: storage.get("k"))

    time.sleep(0.35)
    probe = timed_failure(lambda: storage.get("k"))

    assert probe >= TIMEOUT * 0.8  # this one asked, and waited its timeout
    assert timed_failure(lambda: storage.get("k")) < 0.05
