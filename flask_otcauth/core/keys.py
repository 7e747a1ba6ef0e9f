"""API keys as records: the issued key format, validated records, and lookup by digest; Flask-free.

Issued keys read ``otc_<env>_<random base62>_<checksum>``: the prefix lets secret scanners
find a leaked key, and the checksum (CRC32 of everything before it, in 6 base62 digits) lets a
typo be refused without any lookup. Keys of other forms still work when configured.

The server only ever holds a key's SHA-256: records carry ``hash``, a configured plaintext is
hashed at start-up, and a lookup is a dictionary access by digest followed by a constant-time
comparison of digests, never a loop comparing plaintexts.
"""

from __future__ import annotations

import difflib
import enum
import hmac
import logging
import re
import secrets
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from .budget_config import amount
from .identity import key_fingerprint, sha256
from .policy import Policy, parse_policy
from .refusals import OTCAuthConfigError
from .scopes import ScopeError, checked_scopes

logger = logging.getLogger("flask_otcauth")

ENVIRONMENTS: Final = ("live", "test")
BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH: Final = 32  # 62**32 is about 2**190
CHECKSUM_LENGTH: Final = 6  # 62**6 > 2**32
ISSUED_PREFIXES: Final = tuple(f"otc_{env}_" for env in ENVIRONMENTS)
_ISSUED: Final = re.compile(r"(otc_(live|test)_[0-9A-Za-z]{32,})_([0-9A-Za-z]{6})")
_DIGEST: Final = re.compile(r"sha256:([0-9a-f]{64})")
_RECORD_ID: Final = re.compile(r"[\x21-\x7e]{1,128}")
_THUMBPRINT: Final = re.compile(r"[A-Za-z0-9_-]{43}")
RECORD_FIELDS: Final = ("id", "hash", "scopes", "tenant", "expires_at", "not_before", "disabled",
                         "policy", "jkt", "budget")
MAX_CACHED_LOOKUPS: Final = 10_000


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    """The 6-character checksum that ends an issued key whose first part is ``body``."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_key(env: str = "live") -> str:
    """A new key in the issued format, from the operating system's CSPRNG."""
    if env not in ENVIRONMENTS:
        raise ValueError(f"env must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    body = f"otc_{env}_" + "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return f"{body}_{checksum(body)}"


def key_environment(key: str) -> str | None:
    """``live`` or ``test`` for a well-formed issued key (checksum included), else ``None``."""
    match = _ISSUED.fullmatch(key)
    if match is None or not hmac.compare_digest(checksum(match.group(1)), match.group(3)):
        return None
    return match.group(2)


def is_plausible(key: str) -> bool:
    """False for a key that claims the issued format but breaks it (a typo, a truncation)."""
    return not key.startswith(ISSUED_PREFIXES) or key_environment(key) is not None


def hash_key(key: str) -> str:
    """The ``sha256:<hex>`` form a configuration or database stores instead of the key."""
    return "sha256:" + sha256(key.encode("utf-8")).hex()


def parse_digest(text: str, where: str) -> bytes:
    match = _DIGEST.fullmatch(text)
    if match is None:
        raise OTCAuthConfigError(f'{where} is a malformed digest: write "sha256:" followed by '
                                 "exactly 64 lowercase hex digits.")
    return bytes.fromhex(match.group(1))


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One API key as the server knows it: whose it is, what it may do, when it is valid.

    Several records may share an ``id``: that is how a key is rotated with overlap, the old
    record keeping ``expires_at`` until its holders have switched. ``scopes`` is ``None`` for a
    record written without them (a plain key, a record without a ``scopes`` field): such a key
    carries no scope information and is granted ``OTC_AUTH_SCOPELESS_GRANTS``; a record with
    ``scopes`` (even ``[]``) is held to exactly them. ``policy`` limits where, when and what
    the key may reach (a :class:`~flask_otcauth.Policy`). ``jkt`` binds the key to a DPoP key
    (its RFC 7638 SHA-256 thumbprint): the key is then accepted only with a proof made with it.
    ``budget`` is what its calls may cost per budget window (``OTC_AUTH_BUDGET_WINDOW``),
    ``None`` for no budget of its own.
    """

    id: str
    digest: bytes = field(repr=False)
    scopes: frozenset[str] | None = None
    tenant: str | None = None
    expires_at: float | None = None
    not_before: float | None = None
    disabled: bool = False
    policy: Policy | None = None
    jkt: str | None = None
    budget: int | None = None

    def refusal(self, now: float) -> str | None:
        """Why the key must be refused at ``now`` (for the server's log only), or ``None``."""
        if self.disabled:
            return "disabled"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        if self.not_before is not None and now < self.not_before:
            return "not yet valid"
        return None


def plain_key_record(digest: bytes) -> KeyRecord:
    """A bare key (string or digest): no scopes, no tenant, named by a prefix of its digest."""
    return KeyRecord(id=key_fingerprint(digest), digest=digest)


def parse_record(data: object, where: str) -> KeyRecord:
    """A validated :class:`KeyRecord` from a mapping, or an error naming the record and field."""
    if not isinstance(data, Mapping):
        raise OTCAuthConfigError(f"{where} must be a key string, a sha256: digest or a record "
                                 f"(a dict), got {type(data).__name__}.")
    record_id = data.get("id")
    if not isinstance(record_id, str) or _RECORD_ID.fullmatch(record_id) is None:
        raise OTCAuthConfigError(f"{where}.id must be a string of 1-128 visible ASCII characters "
                                 "naming the key's holder.")
    where = f'{where} (id "{record_id}")'
    for name in data:
        if name not in RECORD_FIELDS:
            close = difflib.get_close_matches(str(name), RECORD_FIELDS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise OTCAuthConfigError(f"{where} has unknown field {name!r}.{hint} Fields: "
                                     + ", ".join(RECORD_FIELDS) + ".")
    digest = data.get("hash")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise OTCAuthConfigError(f'{where}.hash must be "sha256:<64 hex>": records hold the key\'s '
                                 "digest, never the key (flask otcauth hash-key prints it).")
    try:
        scopes = (checked_scopes(_scope_list(data["scopes"], where)) if "scopes" in data
                  else None)
    except ScopeError as error:
        raise OTCAuthConfigError(f"{where}.scopes: {error}.") from None
    tenant = data.get("tenant")
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise OTCAuthConfigError(f"{where}.tenant must be a non-empty string or None.")
    expires_at = _timestamp(data.get("expires_at"), f"{where}.expires_at")
    not_before = _timestamp(data.get("not_before"), f"{where}.not_before")
    if expires_at is not None and not_before is not None and not_before >= expires_at:
        raise OTCAuthConfigError(f"{where}.not_before is not before its expires_at: the key "
                                 "would never be valid.")
    disabled = data.get("disabled", False)
    if not isinstance(disabled, bool):
        raise OTCAuthConfigError(f"{where}.disabled must be true or false, got {disabled!r}.")
    policy = data.get("policy")
    jkt = thumbprint_field(data.get("jkt"), f"{where}.jkt")
    budget = data.get("budget")
    return KeyRecord(id=record_id, digest=parse_digest(digest, f"{where}.hash"), scopes=scopes,
                     tenant=tenant, expires_at=expires_at, not_before=not_before,
                     disabled=disabled,
                     policy=None if policy is None else parse_policy(policy, f"{where}.policy"),
                     jkt=jkt, budget=(None if budget is None
                                      else amount(budget, f"{where}.budget", minimum=0)))


def thumbprint_field(value: object, where: str) -> str | None:
    """A registered DPoP key's ``jkt``: an RFC 7638 SHA-256 thumbprint, 43 base64url
    characters, or ``None``."""
    if value is None:
        return None
    if not isinstance(value, str) or _THUMBPRINT.fullmatch(value) is None:
        raise OTCAuthConfigError(f"{where} must be the DPoP key's RFC 7638 SHA-256 thumbprint: "
                                 "43 base64url characters (DPoPKey.thumbprint prints it).")
    return value


def _scope_list(value: object, where: str) -> Iterable[object]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return value
    raise OTCAuthConfigError(f'{where}.scopes must be a list of scopes such as ["tools:list", '
                             f'"tools:call:*"], got {type(value).__name__}.')


def _timestamp(value: object, where: str) -> float | None:
    """Seconds since the epoch from an aware datetime, ISO 8601 text with an offset, or a number."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise OTCAuthConfigError(f'{where} is not an ISO 8601 time: write it as '
                                     '"2027-01-31T00:00:00Z".') from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise OTCAuthConfigError(f"{where} has no time zone: add Z (UTC) or an offset, so "
                                     "the key does not expire at a different hour per server.")
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise OTCAuthConfigError(f"{where} must be an ISO 8601 time with a time zone, a datetime or "
                             f"seconds since the epoch, got {type(value).__name__}.")


KeyLoaderResult = KeyRecord | Mapping[str, Any] | None
KeyLoader = Callable[[str], KeyLoaderResult]
"""Called with ``"sha256:<hex>"``; returns the record with that hash, or ``None``."""


class _Lookup(enum.Enum):
    UNKNOWN = "unknown"


UNKNOWN: Final = _Lookup.UNKNOWN
"""A digest neither configured nor cached: the loader has not been asked yet."""


class KeyLookupError(Exception):
    """The key loader failed: the key can be neither accepted nor refused."""


class KeyDirectory:
    """The records of one app, by digest, plus an optional loader with a TTL cache.

    The loader's answers are cached for ``cache_ttl`` seconds, and "no such key" for
    ``negative_cache_ttl`` seconds (briefly: a key just added to the database should work
    soon). So a record disabled in the database stops working within ``cache_ttl``. The cache
    holds at most :data:`MAX_CACHED_LOOKUPS` digests, oldest dropped first, so a flood of
    random keys cannot grow it without bound. Configured records win over the loader.
    """

    def __init__(
        self,
        records: Iterable[KeyRecord] = (),
        loader: KeyLoader | None = None,
        *,
        cache_ttl: float = 60.0,
        negative_cache_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records = {record.digest: record for record in records}
        self._loader = loader
        self._cache_ttl = cache_ttl
        self._negative_cache_ttl = negative_cache_ttl
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[float, KeyRecord | None]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def records(self) -> tuple[KeyRecord, ...]:
        """The configured records (the loader's are not listed: they are looked up by hash)."""
        return tuple(self._records.values())

    def lookup(self, digest: bytes) -> KeyRecord | None:
        """The record of the key with this digest, or ``None``; :class:`KeyLookupError`."""
        record = self.known(digest)
        return self.load(digest) if record is UNKNOWN else record

    def known(self, digest: bytes) -> KeyRecord | Literal[_Lookup.UNKNOWN] | None:
        """What is known without asking the loader: a configured record, a cached answer
        (``None`` for "no such key"), or :data:`UNKNOWN` when only the loader can tell."""
        record = self._records.get(digest)
        if record is None and self._loader is not None:
            now = self._clock()
            with self._lock:
                cached = self._cache.get(digest)
                if cached is None:
                    return UNKNOWN
                if cached[0] <= now:
                    del self._cache[digest]
                    return UNKNOWN
            record = cached[1]
        # Constant time: a loader's record may carry another hash than the one it was asked for.
        return record if record is not None and hmac.compare_digest(record.digest, digest) else None

    def load(self, digest: bytes) -> KeyRecord | None:
        """Ask the loader (when there is one) and cache its answer; :class:`KeyLookupError`."""
        if self._loader is None:
            return None
        now = self._clock()
        record = _call_loader(self._loader, digest)
        ttl = self._cache_ttl if record is not None else self._negative_cache_ttl
        if ttl > 0:
            with self._lock:
                self._cache[digest] = (now + ttl, record)
                self._cache.move_to_end(digest)
                while len(self._cache) > MAX_CACHED_LOOKUPS:
                    self._cache.popitem(last=False)
        return record if record is not None and hmac.compare_digest(record.digest, digest) else None


def _call_loader(loader: KeyLoader, digest: bytes) -> KeyRecord | None:
    try:
        found = loader("sha256:" + digest.hex())
        if found is None or isinstance(found, KeyRecord):
            return found
        return parse_record(found, "the api_key_loader's record")
    except Exception as error:
        # The message names a field at most, never the key: the loader only saw its hash.
        logger.error("API key loader failed (%s): %s", type(error).__name__, error)
        raise KeyLookupError from None
