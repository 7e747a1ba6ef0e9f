"""The two rate limits of the spec's "additional security measures"; Flask-free.

Counting goes straight to a ``limits`` strategy, not through Flask-Limiter's per-route
machinery: authentication decides the key (identity or address) only after verifying, which a
route decorator evaluated earlier cannot know, and Flask-Limiter's request hooks cost more than
the rest of a request's authentication. The strategy is the one of a Flask-Limiter the app gives
us, or one built here from the same storage URIs and strategy names.

Where the storage is Redis with fixed windows (the usual shared set-up), a request's two checks,
"is this address locked out by failures?" and "spend one of this caller's requests", are one
Lua script: one round trip instead of two.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Final, Literal

from limits import RateLimitItem
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, FixedWindowRateLimiter, RateLimiter
from limits.util import WindowStats

from .refusals import RATE_LIMITED, TOO_MANY_FAILED_ATTEMPTS, AuthFailure, OTCAuthConfigError
from .settings import Settings

logger = logging.getLogger("flask_otcauth")
_PREFIX: Final = "otcauth"
_WARN_EVERY_SECONDS: Final = 30.0
_Operation = Literal["hit", "test", "get_window_stats"]
_FAILED: Final = "failed"
_CALLER: Final = "caller"
_MAX_KEYS: Final = 10_000  # callers and addresses whose storage keys are remembered
_MAX_CACHED_NAME: Final = 256  # longer names get their keys built each time
# KEYS: the address's failure counters, then the caller's request counters.
# ARGV: the number of failure counters, each failure limit, then per request counter its limit
# and window in seconds. Returns {0} when admitted, else {1 (locked out) or 2 (over budget),
# the index of the exhausted limit, the seconds its window still runs}. Same counters and
# arithmetic as limits' fixed window (INCRBY, EXPIRE on the first hit), so both read each other.
_ADMIT_SCRIPT: Final = """
local failure_counters = tonumber(ARGV[1])
for i = 1, failure_counters do
  local used = tonumber(redis.call('get', KEYS[i]) or '0')
  if used >= tonumber(ARGV[1 + i]) then
    return {1, i, redis.call('ttl', KEYS[i])}
  end
end
local argument = 2 + failure_counters
for i = failure_counters + 1, #KEYS do
  local current = redis.call('incrby', KEYS[i], 1)
  if current == 1 then
    redis.call('expire', KEYS[i], ARGV[argument + 1])
  end
  if current > tonumber(ARGV[argument]) then
    return {2, i - failure_counters, redis.call('ttl', KEYS[i])}
  end
  argument = argument + 2
end
return {0, 0, 0}
"""


def build_strategy(
    storage_uri: str, strategy: str = "fixed-window", options: Mapping[str, Any] | None = None
) -> RateLimiter:
    """A ``limits`` strategy over the storage a URI names, as Flask-Limiter would build it.

    Raises ``limits``' :class:`~limits.errors.ConfigurationError` for an unknown scheme, a
    missing driver, an asynchronous storage or an unknown strategy name.
    """
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"unknown rate-limit strategy {strategy!r}")
    storage = storage_from_string(storage_uri, **dict(options or {}))
    if not isinstance(storage, Storage):
        raise ConfigurationError("an asynchronous storage cannot count synchronous requests")
    return STRATEGIES[strategy](storage)


def own_rate_limits(settings: Settings) -> RateLimits | None:
    """The limits of an app that gave OTCAuth no Flask-Limiter, counted with the strategy its
    ``RATELIMIT_*`` keys name; ``None`` when no limit is on (or ``RATELIMIT_ENABLED`` is off)."""
    if not (settings.ratelimit or settings.failure_ratelimit) or not settings.ratelimit_enabled:
        return None
    try:
        strategy = build_strategy(settings.ratelimit_storage_uri or "memory://",
                                  settings.ratelimit_strategy, settings.ratelimit_storage_options)
    except (ConfigurationError, ValueError, TypeError):
        raise OTCAuthConfigError(
            "OTC_AUTH_RATELIMIT_STORAGE_URI names a storage the limits library cannot use: "
            "check its scheme (memory, redis, rediss, valkey, memcached, mongodb, ...) and "
            "install its driver (pip install 'flask-otcauth[redis]').") from None
    return RateLimits(strategy, per_identity=settings.ratelimit,
                      per_failure=settings.failure_ratelimit)


class RateLimits:
    """Per-identity request budget and per-address failure budget for one app.

    An address that has used up its failures gets 429 on every attempt, valid or not, and no
    response tells it more: :meth:`record_failure` answers 429 instead of 401 and
    :meth:`refuse_if_failing` guards any other refusal, while :meth:`admit` checks the lock-out
    before it counts an accepted request.

    When the shared storage (Redis) does not answer, counting goes on in this process, so an
    outage neither turns every request into an error nor lifts the limits altogether.
    """

    def __init__(
        self,
        strategy: RateLimiter,
        *,
        per_identity: tuple[RateLimitItem, ...],
        per_failure: tuple[RateLimitItem, ...],
    ) -> None:
        self._strategy = strategy
        self._fallback = type(strategy)(MemoryStorage())
        self._per_identity = per_identity
        self._per_failure = per_failure
        self._last_warning = 0.0
        self._admit_script: Any = None
        self._storage = strategy.storage
        # Fixed windows are a counter per window in the storage: with the storage keys built
        # once per caller, an accepted request costs one read and one increment (limits builds
        # each key anew, in Python, on every call of its strategy).
        self._fixed_window = isinstance(strategy, FixedWindowRateLimiter)
        self._storage_keys: dict[tuple[str, str], tuple[str, ...]] = {}
        # A plain Redis only: a cluster cannot run one script over keys in different slots.
        if self._fixed_window and type(self._storage) is RedisStorage:
            self._admit_script = _AdmitScript(self._storage.get_connection())
            self._limits_argv = [len(per_failure), *(item.amount for item in per_failure)]
            for item in per_identity:
                self._limits_argv += [item.amount, item.get_expiry()]

    def admit(self, address: str, caller: str) -> None:
        """429 if ``address`` is locked out by failures, else spend one of ``caller``'s budget."""
        if self._fixed_window:
            try:
                if self._admit_script is not None:
                    self._admit_in_one_round_trip(address, caller)
                else:
                    self._admit_in_fixed_windows(address, caller)
            except AuthFailure:
                raise
            except Exception:  # any storage driver error: count in this process meanwhile
                self._warn_unreachable()
            else:
                return
        self.refuse_if_failing(address)
        self.count_request(caller)

    def _admit_in_one_round_trip(self, address: str, caller: str) -> None:
        keys = (self._keys(_FAILED, address, self._per_failure)
                + self._keys(_CALLER, caller, self._per_identity))
        outcome, index, seconds = (int(value) for value in self._admit_script(
            keys, self._limits_argv))
        if outcome == 1:
            raise _locked_out(max(0, seconds))
        if outcome == 2:
            raise _over_budget(self._per_identity[index - 1], max(0, seconds))

    def _admit_in_fixed_windows(self, address: str, caller: str) -> None:
        """What ``FixedWindowRateLimiter.test`` and ``.hit`` do, on keys built once."""
        storage = self._storage
        for item, key in zip(self._per_failure, self._keys(_FAILED, address, self._per_failure),
                             strict=True):
            if storage.get(key) >= item.amount:
                raise _locked_out(self._retry_after(item, _FAILED, address))
        for item, key in zip(self._per_identity,
                             self._keys(_CALLER, caller, self._per_identity), strict=True):
            if storage.incr(key, item.get_expiry()) > item.amount:
                raise _over_budget(item, self._retry_after(item, _CALLER, caller))

    def _keys(self, kind: str, name: str, items: tuple[RateLimitItem, ...]) -> tuple[str, ...]:
        """The storage keys of ``name``'s counters, as the ``limits`` strategy names them."""
        keys = self._storage_keys.get((kind, name))
        if keys is None:
            if self._admit_script is not None:
                prefixed = self._storage.prefixed_key  # type: ignore[attr-defined]
                keys = tuple(prefixed(item.key_for(_PREFIX, kind, name)) for item in items)
            else:
                keys = tuple(item.key_for(_PREFIX, kind, name) for item in items)
            if len(name) <= _MAX_CACHED_NAME:  # bounded in bytes too (a JWT sub may be long)
                if len(self._storage_keys) >= _MAX_KEYS:
                    self._storage_keys.clear()  # a flood of names: start over, nothing is lost
                self._storage_keys[(kind, name)] = keys
        return keys

    def refuse_if_failing(self, address: str) -> None:
        """429 for an address that has used up its failures."""
        for item in self._per_failure:
            if not self._call("test", item, _FAILED, address):
                raise _locked_out(self._retry_after(item, _FAILED, address))

    def record_failure(self, address: str) -> None:
        """Count a failed attempt; 429 instead (counting nothing) when already locked out."""
        self.refuse_if_failing(address)
        for item in self._per_failure:
            self._call("hit", item, _FAILED, address)

    def count_request(self, caller: str) -> None:
        """Spend one request of the caller's budget, or 429 when it is used up."""
        for item in self._per_identity:
            if not self._call("hit", item, _CALLER, caller):
                raise _over_budget(item, self._retry_after(item, _CALLER, caller))

    def _retry_after(self, item: RateLimitItem, kind: str, key: str) -> int:
        stats: WindowStats = self._call("get_window_stats", item, kind, key)
        return math.ceil(stats.reset_time - time.time())

    def _call(self, operation: _Operation, item: RateLimitItem, kind: str, key: str) -> Any:
        try:
            return getattr(self._strategy, operation)(item, _PREFIX, kind, key)
        except Exception:  # any storage driver error: redis, memcached, mongodb, ...
            self._warn_unreachable()
            return getattr(self._fallback, operation)(item, _PREFIX, kind, key)

    def _warn_unreachable(self) -> None:
        now = time.monotonic()
        if now - self._last_warning > _WARN_EVERY_SECONDS:
            self._last_warning = now
            logger.warning("rate-limit storage is unreachable; counting in this process "
                           "until it answers again", exc_info=True)


class _AdmitScript:
    """The admit script, sent over one connection per thread of redis-py's own ``Connection``.

    redis-py's client wraps every command in a pool checkout, retries, events and metrics:
    38 us of Python around a 26 us round trip on the development machine, paid by every
    accepted request. The connection alone still connects, authenticates, selects the database
    and parses replies (hiredis) as the client would; an error drops the connection, and the
    next call makes a new one.
    """

    def __init__(self, client: Any) -> None:
        from redis.exceptions import NoScriptError  # noqa: PLC0415 - the redis extra

        self._no_script = NoScriptError
        self._pool = client.connection_pool
        self._sha = hashlib.sha1(_ADMIT_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis' name
        self._local = threading.local()

    def __call__(self, keys: tuple[str, ...], args: list[int]) -> Any:
        owner, connection = getattr(self._local, "connection", (None, None))
        if owner != os.getpid() or connection is None:  # none in this thread, or a fork's
            connection = self._pool.make_connection()
            self._local.connection = (os.getpid(), connection)
        try:
            try:
                connection.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
                return connection.read_response()
            except self._no_script:  # a restarted Redis: EVAL runs the script and caches it
                connection.send_command("EVAL", _ADMIT_SCRIPT, len(keys), *keys, *args)
                return connection.read_response()
        except BaseException:
            connection.disconnect()
            self._local.connection = (None, None)
            raise


def _locked_out(retry_after: int) -> AuthFailure:
    return TOO_MANY_FAILED_ATTEMPTS.failure(retry_after=max(1, retry_after))


def _over_budget(item: RateLimitItem, retry_after: int) -> AuthFailure:
    return RATE_LIMITED.failure(f"More than {item} for this caller.",
                                retry_after=max(1, retry_after))
