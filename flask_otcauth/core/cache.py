"""A bounded memory of tokens that verified, so a client reusing its token pays once; Flask-free.

Verifying an HS256 token costs tens of microseconds (parsing, HMAC, claim checks); looking the
exact token string up costs a fraction of one. What is remembered is only ever a success:
a refused token is verified again each time it is sent, so nothing an attacker sends can be
stored. Each entry is keyed by the full raw token (never a prefix, never a hash an attacker
could aim at), keeps the moment the token stops being valid and is checked against the clock
on every hit. The cache belongs to one scheme, built from one set of secrets: new secrets
(``init_app`` again) mean a new, empty cache, so a token signed with a retired secret is
verified, and refused, afresh.

Bounded twice, by entries and by an estimate of the bytes they hold, oldest dropped first, so
a million distinct valid tokens cost no more memory than a few thousand. The estimate is taken
from the token's length alone: an identity holds nothing but what was decoded from its token,
and JSON decoding makes at most about 35 bytes of Python objects per character of a compact
JWS (nested empty arrays are the worst; ``tests/test_cache.py`` measures adversarial shapes),
so 64 bytes a character can only overstate, and costs no walk over the claims.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from .identity import Identity

MAX_ENTRIES: Final = 4096
MAX_BYTES: Final = 64 * 1024 * 1024
# Per character of the token: the token itself and everything decoded from it (claims, scopes).
BYTES_PER_CHARACTER: Final = 64
# The dictionary slot, the entry tuple, the Identity and its read-only claims view.
_ENTRY_OVERHEAD: Final = 512


class VerifiedTokenCache:
    """Token string -> (valid until, identity), for tokens that verified."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[float, Identity, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_in_bytes(self) -> int:
        """The estimated memory the entries hold (tokens and claims), within ``max_bytes``."""
        return self._bytes

    def get(self, token: str, now: float) -> Identity | None:
        """The identity ``token`` proved, if it verified before and is still valid at ``now``."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now >= entry[0]:
            self._remove(token)
            return None
        return entry[1]

    def put(self, token: str, valid_until: float, identity: Identity) -> None:
        """Remember a token that verified; ``valid_until`` is its ``exp`` plus the leeway.

        ``identity`` must hold only what was decoded from ``token`` (see the module's note).
        """
        size = _ENTRY_OVERHEAD + BYTES_PER_CHARACTER * len(token)
        if size > self._max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(token, None)
            if previous is not None:
                self._bytes -= previous[2]
            self._entries[token] = (valid_until, identity, size)
            self._bytes += size
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                self._bytes -= self._entries.popitem(last=False)[1][2]  # the oldest goes first

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _remove(self, token: str) -> None:
        with self._lock:
            entry = self._entries.pop(token, None)
            if entry is not None:
                self._bytes -= entry[2]

