"""The two rate limits of the spec's "additional security measures"; Flask-free.

Counting goes straight to a ``limits`` strategy (the one Flask-Limiter configured), not through
Flask-Limiter's per-route decorator machinery: authentication decides the key (identity or
address) only after verifying, which a route decorator evaluated earlier cannot know, and the
direct call is a fraction of the decorator's cost.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Final, Literal

from limits import RateLimitItem
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter
from limits.util import WindowStats

from .exceptions import rate_limited

logger = logging.getLogger("flask_otcauth")
_PREFIX: Final = "otcauth"
_WARN_EVERY_SECONDS: Final = 30.0
_Operation = Literal["hit", "test", "get_window_stats"]


class RateLimits:
    """Per-identity request budget and per-address failure budget for one app.

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

    def refuse_if_failing(self, address: str) -> None:
        """429 for an address that has used up its failures, before its credentials are read."""
        for item in self._per_failure:
            if not self._call("test", item, "failed", address):
                raise rate_limited("too_many_failed_attempts",
                                   "Too many failed authentication attempts from this address.",
                                   self._retry_after(item, "failed", address))

    def record_failure(self, address: str) -> None:
        for item in self._per_failure:
            self._call("hit", item, "failed", address)

    def count_request(self, caller: str) -> None:
        """Spend one request of the caller's budget, or 429 when it is used up."""
        for item in self._per_identity:
            if not self._call("hit", item, "caller", caller):
                raise rate_limited("rate_limited",
                                   f"More than {item} for this caller.",
                                   self._retry_after(item, "caller", caller))

    def _retry_after(self, item: RateLimitItem, kind: str, key: str) -> int:
        stats: WindowStats = self._call("get_window_stats", item, kind, key)
        return math.ceil(stats.reset_time - time.time())

    def _call(self, operation: _Operation, item: RateLimitItem, kind: str, key: str) -> Any:
        try:
            return getattr(self._strategy, operation)(item, _PREFIX, kind, key)
        except Exception:  # any storage driver error: redis, memcached, mongodb, ...
            now = time.monotonic()
            if now - self._last_warning > _WARN_EVERY_SECONDS:
                self._last_warning = now
                logger.warning("rate-limit storage is unreachable; counting in this process "
                               "until it answers again", exc_info=True)
            return getattr(self._fallback, operation)(item, _PREFIX, kind, key)
