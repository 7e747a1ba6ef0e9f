"""The ``oauth`` keys fetched at ``init_app`` and refreshed in the background; Flask-free.

Without it the first request for an issuer, and the first after each TTL, waits for the fetch
(up to ``OTC_AUTH_OAUTH_HTTP_TIMEOUT``). With ``OTC_AUTH_OAUTH_JWKS_PREFETCH`` on, every issuer's
keys are fetched when the app is set up, and one daemon thread per process refetches each set at
80 % of its lifetime (:meth:`.jwks.KeyClient.refresh_due`), so while the provider answers no
request finds the keys expired. A rotation still reaches a request before the refresh does
through the unknown-``kid`` path, at most once per cooldown.

Fork-safe: a thread does not survive ``fork`` (gunicorn ``--preload`` sets the app up in the
master, then forks the workers). A handler registered with :func:`os.register_at_fork` starts a
new thread in every child, with new locks for the key clients (a lock the parent's thread held
at the fork would be held forever in the child). The request path carries no check for it.

What each process fetches: without ``--preload``, each worker fetches each issuer's keys at
start and then once per refresh; with it, the master fetches once at start, the workers inherit
those keys, and every process (the master included: its thread goes on) refetches once per
refresh. Nothing is shared between processes.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Final

from .jwks import KeyClient
from .refusals import OTCAuthConfigError

PREFETCH_KEY_NAME: Final = "OTC_AUTH_OAUTH_JWKS_PREFETCH"
MAX_SLEEP_SECONDS: Final = 60.0  # the thread wakes at least this often, to notice a stop
_LIVE: weakref.WeakSet[KeyRefresher] = weakref.WeakSet()


def prefetch(clients: Iterable[KeyClient], now: float) -> None:
    """Fetch every issuer's keys now; :class:`OTCAuthConfigError` naming each issuer whose keys
    could not be fetched, so a wrong ``jwks_uri`` or an unreachable provider is found when the
    server starts rather than by its first caller."""
    failed = []
    for client in clients:
        client.refresh(now)
        if client.keys is None or not client.keys.usable:
            failed.append(f"{client.issuer} ({client.last_error or 'no usable key'})")
    if failed:
        raise OTCAuthConfigError(
            f"{PREFETCH_KEY_NAME} is on and the keys of " + ", ".join(failed) + " could not be "
            "fetched: check the issuer's jwks_uri (or its discovery) and that it is reachable "
            f"from this host, or set {PREFETCH_KEY_NAME} to false to start without them (each "
            "issuer's first request then fetches).")


class KeyRefresher:
    """One background thread per process refreshing ``clients`` before their keys expire."""

    def __init__(self, clients: Iterable[KeyClient],
                 clock: Callable[[], float] = time.time) -> None:
        self.clients = tuple(client for client in clients if client.refresh_due() < float("inf"))
        self._clock = clock
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        _LIVE.add(self)

    def start(self) -> None:
        """Start the thread, if there is anything to refresh (static key sets never are)."""
        if not self.clients:
            return
        self.thread = threading.Thread(
            target=_run, args=(self.clients, self._stop, self._clock), daemon=True,
            name="flask-otcauth-keys")
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def after_fork(self) -> None:
        """In a forked child: new locks, a new stop event, a new thread."""
        if self._stop.is_set():
            return
        for client in self.clients:
            client.after_fork()
        self._stop = threading.Event()
        self.start()


def _run(clients: tuple[KeyClient, ...], stop: threading.Event,
         clock: Callable[[], float]) -> None:
    """Refresh each client when it is due; holds no reference to the scheme, so an app that is
    dropped is collected (its finalizer sets ``stop``)."""
    while not stop.is_set():
        now = clock()
        due = [client for client in clients if client.refresh_due() <= now]
        for client in due:
            client.refresh(now)  # a failure logs a WARNING and is retried after the cooldown
        if not due:
            wait = min(client.refresh_due() for client in clients) - now
            stop.wait(min(max(wait, 0.0), MAX_SLEEP_SECONDS))


def _restart_in_child() -> None:
    for refresher in list(_LIVE):
        refresher.after_fork()


def started(owner: object, clients: Iterable[KeyClient]) -> KeyRefresher:
    """A running refresher for ``clients``, stopped when ``owner`` (the scheme) is collected."""
    refresher = KeyRefresher(clients)
    refresher.start()
    weakref.finalize(owner, refresher.stop)
    return refresher


if hasattr(os, "register_at_fork"):  # every POSIX Python; absent on Windows, which never forks
    os.register_at_fork(after_in_child=_restart_in_child)
