"""A circuit breaker per shared-storage server: pay one timeout, then stop waiting; Flask-free.

A Redis that hangs costs each request that asks it the whole timeout
(``OTC_AUTH_STORAGE_TIMEOUT``); with sync workers, every request queued behind it waits too. So
the first failure opens the server's circuit: from then on requests go straight to their
fallback (counting in the process, or ``503`` for what must fail closed) without asking, and one
request per :data:`PROBE_INTERVAL_SECONDS` asks again; the first answer closes the circuit.
Opening and closing are one WARNING and one audit signal each (``storage_unavailable``,
``storage_recovered``), so an outage is one pair of lines in the log, not one per request.

A circuit belongs to one app in one process (each worker finds out on its own), and is shared
by every client of that app that talks to the same server: the nonce store and the rate-limit
counters on one Redis open and close together, so a request never pays the timeout twice.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from .audit import record_storage_recovered, record_storage_unavailable

PROBE_INTERVAL_SECONDS: Final = 1.0
"""How often an open circuit lets one request ask the server again."""


class Circuit:
    """The state of one server as this process has seen it: answering (closed) or not (open).

    ``open`` is a plain attribute, read by every request that uses the storage: a closed
    circuit costs that read and nothing else.
    """

    __slots__ = ("_clock", "_interval", "_lock", "_next_probe", "_opened_at", "_sender",
                 "name", "open")

    def __init__(self, name: str, *, sender: Any = None,
                 interval: float = PROBE_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name  # the server's address, without credentials: safe to log
        self.open = False
        self._sender = _referent(sender)  # the app, without keeping it alive
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next_probe = 0.0
        self._opened_at = 0.0

    def probe(self) -> bool:
        """Whether the caller may ask the server of an open circuit: one caller per interval;
        the others go straight to their fallback."""
        now = self._clock()
        with self._lock:
            if now < self._next_probe:
                return False
            self._next_probe = now + self._interval
            return True

    def failed(self, error: BaseException) -> None:
        """The server did not answer (a timeout, a refused or dropped connection)."""
        now = self._clock()
        with self._lock:
            self._next_probe = now + self._interval
            if self.open:
                return
            self.open = True
            self._opened_at = now
        record_storage_unavailable(self._sender(), self.name, type(error).__name__,
                                   self._interval)

    def answered(self) -> None:
        """The server answered: close the circuit (callers check ``open`` first)."""
        now = self._clock()
        with self._lock:
            if not self.open:
                return
            self.open = False
            outage = now - self._opened_at
        record_storage_recovered(self._sender(), self.name, outage)


def _referent(sender: Any) -> Callable[[], Any]:
    """A weak reference where the sender allows one (an app), else the sender itself."""
    try:
        return weakref.ref(sender)
    except TypeError:
        return lambda: sender


def server_address(uri: str) -> str:
    """The server a storage URI talks to, without credentials, database or options:
    ``redis://h:6379/0?password=...`` and ``redis://h:6379/1`` are both ``redis://h:6379``.
    A Sentinel URI keeps its service name (another service is another master)."""
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    scheme = parts.scheme.lower()
    if scheme.endswith("+sentinel"):
        return f"{scheme}://{host}{parts.path}"
    if scheme in ("unix", "redis+unix"):
        return f"{scheme}://{parts.path}"
    return f"{scheme}://{host}"


class Circuits:
    """The circuits of one app, one per server, made on first request for a URI."""

    def __init__(self, sender: Any = None, *, interval: float = PROBE_INTERVAL_SECONDS) -> None:
        self._sender = sender
        self._interval = interval
        self._circuits: dict[str, Circuit] = {}

    def for_uri(self, uri: str) -> Circuit:
        address = server_address(uri)
        circuit = self._circuits.get(address)
        if circuit is None:
            circuit = self._circuits[address] = Circuit(address, sender=self._sender,
                                                        interval=self._interval)
        return circuit
