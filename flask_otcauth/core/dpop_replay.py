"""What DPoP remembers, and what it need not: seen proofs, and stateless server nonces.

A proof's ``jti`` is claimed once per key, keyed on ``(thumbprint, jti)`` hashed to a fixed
length, with an atomic set-if-absent in the app's shared storage (Redis: ``SET NX EX``, one
answer for every worker), for as long as its ``iat`` could still be accepted. In one process's
memory the store is bounded in bytes; full of live entries it refuses rather than forgets
(forgetting early would let a proof be replayed), and a store that does not answer refuses
too: both are the 503 ``temporarily_unavailable``, never an accepted replay.

Nonces (RFC 9449 section 8) are signed timestamps (itsdangerous's ``TimestampSigner``): any
worker holding the secret checks any worker's nonce by its signature and age, so none is kept.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import threading
from typing import Final

from itsdangerous import BadSignature, TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes

from .refusals import TEMPORARILY_UNAVAILABLE, AuthFailure
from .storage import MemoryStorage, Storage, StorageUnavailable

ENTRY_BYTES: Final = 256
"""What one remembered proof costs in memory, measured with tracemalloc on CPython 3.11: its
52-character key (101 bytes), and 150 bytes of dict slot, float and heap entry; rounded up."""
_PREFIX: Final = "dpop-jti:"
_NONCE_VALUE: Final = b"dpop"
_SEPARATOR: Final = b"."  # TimestampSigner's default sep
_NONCE_SALT: Final = b"flask-otcauth DPoP-Nonce"


def replay_key(thumbprint: str, jti: str) -> str:
    """A fixed-length name for a proof: a client's long ``jti`` costs no more than a short one."""
    digest = hashlib.sha256(f"{thumbprint}\n{jti}".encode()).digest()
    return _PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class BoundedMemory:
    """One process's seen proofs, at most ``max_bytes`` of them; expired ones swept on write."""

    def __init__(self, max_bytes: int) -> None:
        self._capacity = max(1, max_bytes // ENTRY_BYTES)
        self._deadlines: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def claim(self, key: str, ttl: int, now: float) -> bool | None:
        """``True`` the first time, ``False`` for a replay, ``None`` when full."""
        with self._lock:
            heap, deadlines = self._heap, self._deadlines
            while heap and heap[0][0] <= now:
                _, expired = heapq.heappop(heap)
                if deadlines.get(expired, now + 1) <= now:
                    del deadlines[expired]
            deadline = deadlines.get(key)
            if deadline is not None and deadline > now:
                return False
            if len(deadlines) >= self._capacity:
                return None
            deadlines[key] = now + ttl
            heapq.heappush(heap, (now + ttl, key))
            return True

    def __len__(self) -> int:
        return len(self._deadlines)


class ReplayStore:
    """Claims ``(thumbprint, jti)`` once, in the app's storage (bounded memory for memory://)."""

    def __init__(self, storage: Storage, *, max_bytes: int) -> None:
        self._memory = BoundedMemory(max_bytes) if isinstance(storage, MemoryStorage) else None
        self._storage = storage

    def claim(self, thumbprint: str, jti: str, ttl: int, now: float) -> bool:
        """Whether this proof is seen for the first time; a 503 when that cannot be known."""
        key = replay_key(thumbprint, jti)
        if self._memory is not None:
            fresh = self._memory.claim(key, ttl, now)
            if fresh is None:
                raise _unavailable("The server's memory of seen DPoP proofs is full; retry "
                                   "with a new proof after Retry-After.")
            return fresh
        try:
            return self._storage.set_if_absent(key, ttl)
        except StorageUnavailable:
            raise _unavailable("The store of seen DPoP proofs did not answer; this says "
                               "nothing about your proof. Retry with a new one.") from None


def _unavailable(hint: str) -> AuthFailure:
    return TEMPORARILY_UNAVAILABLE.failure(hint, method="oauth")


class NonceSigner(TimestampSigner):
    """Nonces stamped with the time the caller says (the clock the request is checked on),
    checked by signature and age alone."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(secret, salt=_NONCE_SALT)
        self._last: tuple[int, str] = (-1, "")

    def nonce(self, now: float) -> str:
        """A nonce issued at ``now``; one HMAC per second, however many responses carry it."""
        second = int(now)
        last = self._last
        if last[0] == second:
            return last[1]
        value = _NONCE_VALUE + _SEPARATOR + base64_encode(int_to_bytes(second))
        nonce = (value + _SEPARATOR + self.get_signature(value)).decode()
        self._last = (second, nonce)
        return nonce

    def fresh(self, nonce: object, now: float, lifetime: int) -> bool:
        """Whether ``nonce`` is one of ours, issued at most ``lifetime`` seconds ago (and not
        ahead of ``now``: a nonce from the future is not ours)."""
        if not isinstance(nonce, str) or len(nonce) > 128 or not nonce.isascii():
            return False
        try:
            _value, issued = self.unsign(nonce, return_timestamp=True)
        except (BadSignature, ValueError, OverflowError):
            return False
        age = now - issued.timestamp()
        return -1 <= age <= lifetime
