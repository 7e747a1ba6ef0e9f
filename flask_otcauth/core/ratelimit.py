"""The two rate limits of the spec's "additional security measures"; Flask-free.

Counting goes straight to a ``limits`` strategy, not through Flask-Limiter's per-route
machinery: authentication decides the key (identity or address) only after verifying, which a
route decorator evaluated earlier cannot know, and Flask-Limiter's request hooks cost more than
the rest of a request's authentication. The strategy is the one of a Flask-Limiter the app gives
us, or one built here from the same storage URIs and strategy names.

Where the storage is Redis with fixed windows (the usual shared set-up), a request's two checks,
"is this address locked out by failures?" and "spend one of this caller's requests", are one
Lua script: one round trip instead of two (:mod:`.ratelimit_scripts`); a failure is checked and
counted by the same script, so the failure limit is exact across workers. Elsewhere a lock
makes a process's check and count one step, and a count's own answer settles a race between
processes.

A storage that does not answer opens its circuit (:mod:`.circuit`): until it answers again,
limits count in each process, or refuse with ``503`` (``OTC_AUTH_RATELIMIT_FALLBACK``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from limits import RateLimitItem
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter, RateLimiter
from limits.util import WindowStats

from .circuit import Circuit, server_address
from .ratelimit_scripts import ClusterScript, ConnectionScript, tagged
from .redis_clients import DEFAULT_TIMEOUT_SECONDS, open_limits_storage
from .refusals import (
    RATE_LIMITED,
    TEMPORARILY_UNAVAILABLE,
    TOO_MANY_FAILED_ATTEMPTS,
    AuthFailure,
    OTCAuthConfigError,
)
from .settings import REFUSE, Settings

logger = logging.getLogger("flask_otcauth")
_PREFIX: Final = "otcauth"
_Operation = Literal["hit", "test", "get_window_stats"]
_FAILED: Final = "failed"
_CALLER: Final = "caller"
_MAX_KEYS: Final = 10_000  # callers and addresses whose storage keys are remembered
_MAX_CACHED_NAME: Final = 256  # longer names get their keys built each time
REVOCATION_UNCHECKED: Final = (-1, "")
""":meth:`RateLimits.admit`'s answer to a revocation lookup the storage did not answer."""
Entries = tuple[tuple[str, ...], tuple[str, ...]]
"""Revocation entries for the admit script: their Redis keys, and each one's threshold."""


@dataclass(frozen=True, slots=True)
class Budget:
    """A caller's own request limit (a policy's ``ratelimit``) in place of the app's: its
    items, the name its counters' keys are cached under, and the admit script's arguments."""

    items: tuple[RateLimitItem, ...]
    tag: str
    count_argv: tuple[int, ...]


def build_strategy(
    storage_uri: str, strategy: str = "fixed-window", options: Mapping[str, Any] | None = None,
    *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> RateLimiter:
    """A ``limits`` strategy over the storage a URI names, as Flask-Limiter would build it,
    its Redis client bounded by ``timeout`` (unless ``options`` or the URI set their own).

    Raises ``limits``' :class:`~limits.errors.ConfigurationError` for an unknown scheme, a
    missing driver, an asynchronous storage or an unknown strategy name.
    """
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"unknown rate-limit strategy {strategy!r}")
    storage = open_limits_storage(storage_uri, timeout, options)
    if not isinstance(storage, Storage):
        raise ConfigurationError("an asynchronous storage cannot count synchronous requests")
    return STRATEGIES[strategy](storage)


def own_rate_limits(settings: Settings, circuit: Circuit | None = None, *,
                    for_policies: bool = False) -> RateLimits | None:
    """The limits of an app that gave OTCAuth no Flask-Limiter, counted with the strategy its
    ``RATELIMIT_*`` keys name; ``None`` when no limit is on (or ``RATELIMIT_ENABLED`` is off).

    ``for_policies``: built even with both limits off, for the callers whose policy sets a
    limit of their own (nobody else's requests reach it).
    """
    if not settings.ratelimit_enabled or not (
            for_policies or settings.ratelimit or settings.failure_ratelimit):
        return None
    uri = settings.ratelimit_storage_uri or "memory://"
    try:
        strategy = build_strategy(uri, settings.ratelimit_strategy,
                                  settings.ratelimit_storage_options,
                                  timeout=settings.storage_timeout)
    except (ConfigurationError, ValueError, TypeError):
        raise OTCAuthConfigError(
            "OTC_AUTH_RATELIMIT_STORAGE_URI names a storage the limits library cannot use: "
            "check its scheme (memory, redis, rediss, redis+sentinel, redis+cluster, valkey, "
            "memcached, mongodb, ...) and install its driver "
            "(pip install 'flask-otcauth[redis]').") from None
    except Exception:  # a Redis Cluster's client reads its slot map when made
        raise OTCAuthConfigError(
            "OTC_AUTH_RATELIMIT_STORAGE_URI names a Redis Cluster that did not answer at "
            "start-up: the cluster client reads its slot map as it is made. Check the "
            "addresses, or start the app once the cluster answers.") from None
    return RateLimits(strategy, per_identity=settings.ratelimit,
                      per_failure=settings.failure_ratelimit,
                      circuit=circuit if circuit is not None else Circuit(server_address(uri)),
                      refuse_on_outage=settings.ratelimit_fallback == REFUSE)


class RateLimits:
    """Per-identity request budget and per-address failure budget for one app.

    An address that has used up its failures gets 429 on every attempt, valid or not, and no
    response tells it more: :meth:`record_failure` answers 429 instead of 401 and
    :meth:`refuse_if_failing` guards any other refusal, while :meth:`admit` checks the lock-out
    before it counts an accepted request.

    When the shared storage (Redis) does not answer, counting goes on in this process, so an
    outage neither turns every request into an error nor lifts the limits altogether; with
    ``refuse_on_outage``, requests get ``503`` instead. ``timeout`` bounds the admit script's
    own connections when the storage's client is not one we made (a Flask-Limiter's).
    """

    def __init__(
        self,
        strategy: RateLimiter,
        *,
        per_identity: tuple[RateLimitItem, ...],
        per_failure: tuple[RateLimitItem, ...],
        circuit: Circuit | None = None,
        refuse_on_outage: bool = False,
        timeout: float | None = None,
    ) -> None:
        self._strategy = strategy
        self._fallback = type(strategy)(MemoryStorage())
        self._per_identity = per_identity
        self._per_failure = per_failure
        self._circuit = circuit if circuit is not None else Circuit("rate-limit storage")
        self._refuse_on_outage = refuse_on_outage
        self._lock = threading.Lock()  # a process's check-then-count of a failure, as one step
        self._script: Any = None
        self._split = False  # a cluster: the address's and the caller's keys in two slots
        self._storage = strategy.storage
        # Fixed windows are a counter per window in the storage: with the storage keys built
        # once per caller, an accepted request costs one read and one increment (limits builds
        # each key anew, in Python, on every call of its strategy).
        self._fixed_window = isinstance(strategy, FixedWindowRateLimiter)
        self._storage_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._budgets: dict[str, Budget] = {}
        storage = self._storage
        if (self._fixed_window and isinstance(storage, RedisStorage)
                and storage.target_server == "redis"):
            if isinstance(storage, RedisClusterStorage):
                self._script, self._split = ClusterScript(storage.get_connection()), True
            else:  # a plain Redis, or Sentinel's current master
                self._script = ConnectionScript(storage.get_connection(), timeout)
            # Every argument list starts with the number of revocation entries to read (0),
            # then the number of counters to check.
            failure_amounts = [item.amount for item in per_failure]
            self._check_argv: list[Any] = [0, len(per_failure), *failure_amounts]
            self._count_argv: list[Any] = [0, 0]
            for item in per_identity:
                self._count_argv += [item.amount, item.get_expiry()]
            self._admit_argv = self._check_argv + self._count_argv[2:]
            self._failure_argv = list(self._check_argv)
            for item in per_failure:
                self._failure_argv += [item.amount, item.get_expiry()]

    def budget(self, items: tuple[RateLimitItem, ...], tag: str) -> Budget:
        """The :class:`Budget` of a policy's limit, built once per spelling ``tag``."""
        budget = self._budgets.get(tag)
        if budget is None:
            argv = [0, 0]
            for item in items:
                argv += [item.amount, item.get_expiry()]
            budget = Budget(items, tag, tuple(argv))
            if len(self._budgets) >= _MAX_KEYS:
                self._budgets.clear()
            self._budgets[tag] = budget
        return budget

    def shares_database(self, client: Any) -> bool:
        """Whether the admit script can read the keys of ``client`` (a redis-py client) in the
        same call: one Redis server and database, not a cluster."""
        return self._script is not None and not self._split and self._script.reaches(client)

    def admit(self, address: str, caller: str, budget: Budget | None = None,
              revocation: Entries | None = None) -> tuple[int, str] | None:
        """429 if ``address`` is locked out by failures, else spend one of ``caller``'s budget
        (``budget``'s limits in place of the app's, when given).

        ``revocation``: entries the script reads first, in the same round trip (a database
        :meth:`shares_database` confirmed). The answer is then ``None`` when none matched,
        ``(index, value)`` of the one that did (nothing counted), or
        :data:`REVOCATION_UNCHECKED` when the script did not run (counted in the process).
        """
        if self._fixed_window:
            circuit = self._circuit
            if not circuit.open or circuit.probe():
                try:
                    if self._script is not None:
                        matched = self._admit_by_script(address, caller, budget, revocation)
                    else:
                        self._admit_in_fixed_windows(address, caller, budget)
                        matched = None if revocation is None else REVOCATION_UNCHECKED
                except AuthFailure as refusal:
                    if circuit.open and refusal.status == 429:  # the storage's own answer
                        circuit.answered()
                    raise
                except Exception as error:  # any storage driver error: redis, memcached, ...
                    circuit.failed(error)
                else:
                    if circuit.open:
                        circuit.answered()
                    return matched
        self.refuse_if_failing(address)
        self.count_request(caller, budget)
        return None if revocation is None else REVOCATION_UNCHECKED

    def _admit_by_script(self, address: str, caller: str, budget: Budget | None,
                         revocation: Entries | None) -> tuple[int, str] | None:
        failed = self._keys(_FAILED, address, self._per_failure)
        if budget is None:
            items, count_argv = self._per_identity, self._count_argv
            calls = self._keys(_CALLER, caller, items)
            admit_argv = self._admit_argv
        else:
            items, count_argv = budget.items, list(budget.count_argv)
            calls = self._keys(_CALLER, caller, items, budget.tag)
            admit_argv = self._check_argv + count_argv[2:]
        if not self._split:
            if revocation is None:
                return self._answer(self._script(failed + calls, admit_argv), items)
            entries, thresholds = revocation
            return self._answer(self._script(entries + failed + calls,
                                             [len(entries), *thresholds, *admit_argv[1:]]),
                                items)
        if failed:
            self._answer(self._script(failed, self._check_argv), items)
        if calls:
            self._answer(self._script(calls, count_argv), items)
        return None if revocation is None else REVOCATION_UNCHECKED

    def _answer(self, reply: Any, items: tuple[RateLimitItem, ...]) -> tuple[int, str] | None:
        """Raise the script's refusal; the matched revocation entry (index from 0, value);
        ``None`` when it admitted the request."""
        outcome = int(reply[0])
        if outcome == 0:
            return None
        if outcome == 3:
            value = reply[2]
            return int(reply[1]) - 1, value.decode() if isinstance(value, bytes) else str(value)
        seconds = max(0, int(reply[2]))
        if outcome == 1:
            raise _locked_out(seconds)
        raise _over_budget(items[int(reply[1]) - 1], seconds)

    def _admit_in_fixed_windows(self, address: str, caller: str, budget: Budget | None) -> None:
        """What ``FixedWindowRateLimiter.test`` and ``.hit`` do, on keys built once."""
        storage = self._storage
        for item, key in zip(self._per_failure, self._keys(_FAILED, address, self._per_failure),
                             strict=True):
            if storage.get(key) >= item.amount:
                raise _locked_out(self._retry_after(item, _FAILED, address))
        items = self._per_identity if budget is None else budget.items
        keys = self._keys(_CALLER, caller, items, "" if budget is None else budget.tag)
        for item, key in zip(items, keys, strict=True):
            if storage.incr(key, item.get_expiry()) > item.amount:
                raise _over_budget(item, self._retry_after(item, _CALLER, caller))

    def _keys(self, kind: str, name: str, items: tuple[RateLimitItem, ...], tag: str = ""
              ) -> tuple[str, ...]:
        """The storage keys of ``name``'s counters, as the ``limits`` strategy names them;
        ``tag`` names a policy's own limits, whose keys are cached apart from the app's."""
        cached = (kind, name) if not tag else (kind, name, tag)
        keys = self._storage_keys.get(cached)
        if keys is None:
            if self._script is not None:
                prefixed = self._storage.prefixed_key  # type: ignore[attr-defined]
                keys = tuple(prefixed(item.key_for(_PREFIX, kind, tagged(name)))
                             for item in items)
            else:
                keys = tuple(item.key_for(_PREFIX, kind, tagged(name)) for item in items)
            if len(name) <= _MAX_CACHED_NAME:  # bounded in bytes too (a JWT sub may be long)
                if len(self._storage_keys) >= _MAX_KEYS:
                    self._storage_keys.clear()  # a flood of names: start over, nothing is lost
                self._storage_keys[cached] = keys
        return keys

    def refuse_if_failing(self, address: str) -> None:
        """429 for an address that has used up its failures."""
        for item in self._per_failure:
            if not self._call("test", item, _FAILED, address):
                raise _locked_out(self._retry_after(item, _FAILED, address))

    def record_failure(self, address: str) -> None:
        """Count a failed attempt; 429 instead (counting nothing) when already locked out.

        The check and the count are one step: one script on Redis, else under a lock, where a
        count that finds the limit passed by another process answers 429 too.
        """
        if not self._per_failure:
            return
        if self._script is not None:
            circuit = self._circuit
            if not circuit.open or circuit.probe():
                keys = self._keys(_FAILED, address, self._per_failure)
                try:
                    reply = self._script(keys + keys, self._failure_argv)
                except Exception as error:  # any driver error: fall back
                    circuit.failed(error)
                else:
                    if circuit.open:
                        circuit.answered()
                    outcome, _, seconds = (int(value) for value in reply)
                    if outcome:
                        raise _locked_out(max(0, seconds))
                    return
        with self._lock:
            self.refuse_if_failing(address)
            for item in self._per_failure:
                if not self._call("hit", item, _FAILED, address):
                    raise _locked_out(self._retry_after(item, _FAILED, address))

    def count_request(self, caller: str, budget: Budget | None = None) -> None:
        """Spend one request of the caller's budget, or 429 when it is used up."""
        for item in self._per_identity if budget is None else budget.items:
            if not self._call("hit", item, _CALLER, caller):
                raise _over_budget(item, self._retry_after(item, _CALLER, caller))

    def _retry_after(self, item: RateLimitItem, kind: str, key: str) -> int:
        stats: WindowStats = self._call("get_window_stats", item, kind, key)
        return math.ceil(stats.reset_time - time.time())

    def _call(self, operation: _Operation, item: RateLimitItem, kind: str, key: str) -> Any:
        circuit = self._circuit
        if not circuit.open or circuit.probe():
            try:
                result = getattr(self._strategy, operation)(item, _PREFIX, kind, tagged(key))
            except Exception as error:  # any storage driver error: redis, memcached, mongodb, ...
                circuit.failed(error)
            else:
                if circuit.open:
                    circuit.answered()
                return result
        if self._refuse_on_outage:
            raise TEMPORARILY_UNAVAILABLE.failure(
                "The rate-limit storage did not answer, and this server refuses requests it "
                "cannot count (OTC_AUTH_RATELIMIT_FALLBACK = \"refuse\"); the request was not "
                "accepted.")
        return getattr(self._fallback, operation)(item, _PREFIX, kind, tagged(key))


def _locked_out(retry_after: int) -> AuthFailure:
    return TOO_MANY_FAILED_ATTEMPTS.failure(retry_after=max(1, retry_after))


def _over_budget(item: RateLimitItem, retry_after: int) -> AuthFailure:
    return RATE_LIMITED.failure(f"More than {item} for this caller.",
                                retry_after=max(1, retry_after))
