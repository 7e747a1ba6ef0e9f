"""A token's time claims against this server's clock, and the warning when clocks disagree.

Clocks of real hosts disagree by a few hundred milliseconds at the best of times, and a token
minted the instant before it is sent carries ``iat = int(its now)``: a server that refused any
``iat`` ahead of its own clock refused a platform whose clock runs 0.3 s fast about one request
in three. So ``iat`` and ``nbf`` may be up to ``OTC_AUTH_JWT_CLOCK_SKEW`` seconds ahead, while
``exp`` stays strict (``OTC_AUTH_JWT_LEEWAY``, default 0): an expired token is refused from the
second after its ``exp``. The lifetime cap is measured so that the spec's 15 minutes survive
the skew: ``exp - iat`` when the token says when it was issued, else ``exp - now`` with the skew
as the stated allowance. Flask-free; the JWT scheme asks :meth:`TimeRules.problem`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

logger = logging.getLogger("flask_otcauth")

EXPIRED: Final = "The token has expired: mint a new one."
SKEW_WARNING_SECONDS: Final = 5.0
"""Tokens dated this far ahead of the server's clock make the operator's log warn."""
SKEW_WARNING_WINDOW_SECONDS: Final = 600.0
"""One warning per client per this many seconds."""
MAX_WATCHED_CLIENTS: Final = 1024
_MAX_NAME_LENGTH: Final = 100
_FAR: Final = 1e15  # seconds, some 30 million years: where comparisons stop needing exactness


@dataclass(frozen=True, slots=True)
class TimeRules:
    """How far a token's time claims may be from the server's clock, in whole seconds."""

    max_lifetime: int
    leeway: int = 0
    skew: int = 60

    def problem(self, claims: Mapping[str, Any], now: float) -> tuple[str, float] | None:
        """``(developer message, measured skew)`` when the times refuse the token, else None.

        The skew is how far the deciding claim lies from ``now`` (``iat - now``, ``nbf - now``
        or ``exp - now``): what the audit trail records. Whole seconds are compared as PyJWT
        compares them (``int(iat) > now + skew``, ``int(exp) <= now - leeway``), so a token
        is judged as ``jwt.decode`` would judge it with these allowances.
        """
        iat, nbf, exp = claims.get("iat"), claims.get("nbf"), claims["exp"]
        if iat is not None and int(iat) > now + self.skew:
            return self._ahead("iat", iat, now)
        if nbf is not None and int(nbf) > now + self.skew:
            return self._ahead("nbf", nbf, now)
        if int(exp) <= now - self.leeway:
            return EXPIRED, offset(exp, now)
        if iat is not None:
            lifetime = _clamped(exp) - _clamped(iat)
            if lifetime > self.max_lifetime:
                return (f"The token's lifetime (exp - iat) is {_seconds(lifetime)} s, more "
                        f"than the {self.max_lifetime} s this server allows: mint "
                        "shorter-lived tokens."), offset(iat, now)
        elif exp > now + self.max_lifetime + self.skew:
            return (f"The token's exp is more than {self.max_lifetime} s ahead (plus "
                    f"{self.skew} s of clock skew): mint shorter-lived tokens, or give them "
                    "iat."), offset(exp, now)
        return None

    def _ahead(self, name: str, value: float, now: float) -> tuple[str, float]:
        ahead = offset(value, now)
        return (f"The token's {name} is {_seconds(ahead)} s ahead of this server's clock; at "
                f"most {self.skew} s of clock skew is allowed (OTC_AUTH_JWT_CLOCK_SKEW): set "
                "the clock of the host that mints the tokens right (NTP)."), ahead


class SkewWatch:
    """Warns once per client per window when a client's tokens arrive dated ahead of us.

    A clock that runs fast goes unnoticed until it is fast by more than the allowed skew, and
    then every token is refused: the warning comes before that. Memory is bounded: at most
    :data:`MAX_WATCHED_CLIENTS` clients are remembered, the longest unwarned dropped first.
    """

    def __init__(self, *, threshold: float = SKEW_WARNING_SECONDS,
                 window: float = SKEW_WARNING_WINDOW_SECONDS,
                 max_clients: int = MAX_WATCHED_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self._window = window
        self._max_clients = max_clients
        self._clock = clock
        self._warned: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._warned)

    def observe(self, client: str | None, ahead: float) -> None:
        """``ahead``: seconds the token's ``iat`` (or ``nbf``) lies ahead of the server's clock.

        The caller compares with :attr:`threshold` first: most tokens cost one comparison.
        """
        if ahead < self.threshold:
            return
        name = _printable(client) if client is not None else "(a client without sub or aud)"
        moment = self._clock()
        with self._lock:
            last = self._warned.get(name)
            if last is not None and moment - last < self._window:
                return
            self._warned[name] = moment
            self._warned.move_to_end(name)
            while len(self._warned) > self._max_clients:
                self._warned.popitem(last=False)
        logger.warning("client %s's tokens arrive %.0f s ahead of this server's clock (at most "
                       "OTC_AUTH_JWT_CLOCK_SKEW is accepted): check both clocks (NTP)",
                       name, ahead)


def offset(value: float, now: float) -> float:
    """``value - now``: how far a claim lies from the clock, positive when ahead. A NumericDate
    beyond any clock (``10**400`` is finite JSON) is clamped rather than overflowing a float."""
    return _clamped(value) - now


def _clamped(value: float) -> float:
    if -_FAR < value < _FAR:
        return value
    return _FAR if value > 0 else -_FAR


def _seconds(value: float) -> str:
    """Whole seconds as such, fractions to a tenth: "901", "60.3"."""
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _printable(name: str) -> str:
    """A client's name as the log may show it: short, and no control character to forge a line."""
    text = name[:_MAX_NAME_LENGTH]
    return text if text.isprintable() else repr(text)[1:-1]
