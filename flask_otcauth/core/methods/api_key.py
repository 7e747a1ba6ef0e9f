"""API keys in the ``OTC-API-Key`` header (OTC 1.0, "API Key Authentication").

Keys are held only as SHA-256 digests, in the records of a :class:`~..keys.KeyDirectory`: a
configured plaintext is hashed at startup and forgotten, so neither memory dumps of the settings
nor the identity ever show it. Every refusal of a key (unknown, malformed, expired, disabled, not
yet valid) has the same body, so a client cannot learn which; the reason goes to the log.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Final, NoReturn

from ..config_keys import (
    MIN_SECRET_BYTES,
    SECRET_HINT,
    ConfigKey,
    listed,
    seconds,
    strings,
)
from ..dpop_binding import bound_claims, describe_dpop, refuse_unproven, with_dpop
from ..dpop_config import DPoPSettings, dpop_settings
from ..identity import Identity, sha256
from ..keys import (
    UNKNOWN,
    KeyDirectory,
    KeyLookupError,
    KeyRecord,
    is_plausible,
    parse_digest,
    parse_record,
    plain_key_record,
)
from ..refusals import (
    INVALID_API_KEY,
    INVALID_DPOP_PROOF,
    KEY_LOOKUP_UNAVAILABLE,
    USE_DPOP_NONCE,
    AuthFailure,
    OTCAuthConfigError,
)
from ..scopes import SCOPELESS_GRANTS
from ..strength import Strength, strength
from .base import (
    REALM,
    AuthMethod,
    AuthRequest,
    Report,
    Scheme,
    SchemeObject,
    Setup,
    TestRequest,
    header_value_problem,
)

logger = logging.getLogger("flask_otcauth")
MAX_API_KEY_LENGTH: Final = 512
EXPIRY_WARNING_DAYS: Final = 14
_DAY: Final = 86400
# Identities of the records in use, so an accepted key builds nothing; bounded like the
# directory's own cache of loader answers.
_MAX_IDENTITIES: Final = 10_000
# Visible ASCII without the comma: a comma is how proxies join duplicated header lines.
_KEY_CHARS: Final = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


class ApiKeyScheme:
    """Accepts a request whose key header carries a key with a usable record."""

    method: Final = "api_key"

    def __init__(self, keys: KeyDirectory, headers: Iterable[str],
                 scopeless_grants: frozenset[str] = frozenset()) -> None:
        self._keys = keys
        self._scopeless_grants = frozenset(scopeless_grants)
        self._headers = tuple(headers)
        self.credential_hint = f"an API key in the {self._headers[0]} header"
        self._challenge = f'APIKey realm="{REALM}", header="{self._headers[0]}"'
        self._refusal_hint = f"Send a valid key in the {self._headers[0]} header."
        self._identities: dict[bytes, tuple[KeyRecord, Identity]] = {}
        # Configured records that no clock can refuse (no expiry, no start, not disabled), by
        # digest: their identity is the answer, found with one lookup and no further call.
        self._always_valid = {record.digest: self._identity(record) for record in keys.records
                              if not record.disabled and record.expires_at is None
                              and record.not_before is None}

    def extract(self, request: AuthRequest) -> str | None:
        found: str | None = None
        for name in self._headers:
            value = request.header(name)
            if value is None:
                continue
            if found is not None and value != found:
                self._refuse("the key headers disagree", None)
            found = value
        return found

    def verify(self, credential: str, now: float) -> Identity:
        identity = self.key_identity(credential, now)
        if identity.claims:  # a record with jkt: only with its proof (RFC 9449 7.2's spirit)
            refuse_unproven(identity)
        return identity

    def key_identity(self, credential: str, now: float) -> Identity:
        """What the key itself proves, with or without a DPoP proof beside it."""
        problem = header_value_problem(credential, MAX_API_KEY_LENGTH)
        if problem is not None:
            self._refuse(f"malformed ({problem})", None)
        digest = hashlib.sha256(credential.encode("ascii")).digest()
        ready = self._always_valid.get(digest)
        if ready is not None:
            return ready
        try:
            record = self._keys.known(digest)
            if record is UNKNOWN:
                # Only the loader could tell: a key that breaks the issued format (a typo, a
                # truncation) is refused without a query.
                if not is_plausible(credential):
                    self._refuse("malformed (checksum)", None)
                record = self._keys.load(digest)
        except KeyLookupError:
            raise KEY_LOOKUP_UNAVAILABLE.failure(method=self.method) from None
        if record is None:
            self._refuse("unknown", None)
        reason = record.refusal(now)
        if reason is not None:
            # The digest matched a record: an expired or not-yet-valid key is its holder's, to
            # be charged to its budget rather than counted as a guess. A disabled key is a
            # revoked one, whoever presents it: that counts.
            self._refuse(reason, record.id, None if reason == "disabled" else record)
        return self._identity(record)

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._challenge

    def _identity(self, record: KeyRecord) -> Identity:
        """The identity a record proves, built once per record (records never change)."""
        known = self._identities.get(record.digest)
        if known is not None and known[0] is record:
            return known[1]
        if record.scopes is None:
            scopes, source = self._scopeless_grants, SCOPELESS_GRANTS
        else:
            scopes, source = record.scopes, f'key record "{record.id}"'
        identity = Identity(method=self.method, subject=record.id, scopes=scopes,
                            tenant=record.tenant, scope_source=source, policy=record.policy,
                            claims=MappingProxyType(bound_claims(record.jkt)),
                            budget=record.budget)
        if len(self._identities) >= _MAX_IDENTITIES:
            self._identities.clear()
        self._identities[record.digest] = (record, identity)
        return identity

    def _refuse(self, reason: str, record_id: str | None,
                verified: KeyRecord | None = None) -> NoReturn:
        """Every refusal of a key has one body, so a client cannot learn which check failed;
        the reason goes to the server's log only. ``verified``: the record the key matched,
        when the refusal is charged to its holder's budget instead of counted as a guess."""
        logger.info("API key refused: %s%s", reason,
                    f' (record "{record_id}")' if record_id is not None else "")
        if verified is None:
            raise INVALID_API_KEY.failure(self._refusal_hint, method=self.method)
        caller = Identity(method=self.method, subject=verified.id,
                          tenant=verified.tenant).rate_limit_key
        raise INVALID_API_KEY.failure(self._refusal_hint, method=self.method, verified=True,
                                      caller=caller)


def _plain_key_digest(entry: str, where: str) -> bytes:
    if entry.startswith("sha256:"):
        return parse_digest(entry, where)
    if _KEY_CHARS.fullmatch(entry) is None:
        raise OTCAuthConfigError(f"{where} contains characters a header cannot carry: use "
                                 "printable ASCII without spaces or commas.")
    if len(entry) < MIN_SECRET_BYTES:
        raise OTCAuthConfigError(
            f"{where} is {len(entry)} characters; API keys must be at least "
            f"{MIN_SECRET_BYTES} ({SECRET_HINT})."
        )
    if not is_plausible(entry):
        raise OTCAuthConfigError(f"{where} starts like an issued key (otc_live_/otc_test_) but its "
                                 "checksum does not match: it was mistyped or truncated.")
    return sha256(entry.encode("ascii"))


@dataclass(frozen=True, slots=True)
class ConfiguredKeys:
    """``OTC_AUTH_API_KEYS`` as read: the records, and where a plaintext key looked guessable
    (``("OTC_AUTH_API_KEYS[0]", its strength)``), for ``check``: the plaintext is forgotten."""

    records: tuple[KeyRecord, ...]
    weak: tuple[tuple[str, Strength], ...] = ()


def _records(value: Any, name: str) -> ConfiguredKeys:
    """Strings and digests become scope-less records; the same key twice is refused if either
    occurrence is a record, since its scopes or validity would then be ambiguous."""
    records: dict[bytes, tuple[KeyRecord, str, bool]] = {}
    weak: list[tuple[str, Strength]] = []
    for index, entry in enumerate(listed(value, name)):
        where = f"{name}[{index}]"
        is_record = not isinstance(entry, str)
        if isinstance(entry, str) and not entry.startswith("sha256:"):
            estimate = strength(entry.encode("utf-8"))
            if estimate.weak:
                weak.append((where, estimate))
        record = parse_record(entry, where) if is_record else plain_key_record(
            _plain_key_digest(entry, where))
        earlier = records.get(record.digest)
        if earlier is not None:
            if is_record or earlier[2]:
                raise OTCAuthConfigError(f"{where} and {earlier[1]} are the same key: give each "
                                         "key one entry.")
            continue
        records[record.digest] = (record, where, is_record)
    return ConfiguredKeys(tuple(record for record, _, _ in records.values()), tuple(weak))


def _header_names(value: Any, name: str) -> tuple[str, ...]:
    names = strings(value, name)
    if not names:
        raise OTCAuthConfigError(f"{name} is empty: name at least one header.")
    for header in names:
        if _HEADER_NAME.fullmatch(header) is None or header.lower() == "authorization":
            raise OTCAuthConfigError(f'{name} names "{header}", which is not a usable header '
                                     "name (and Authorization is the bearer's).")
    return names


KEYS_KEY: Final = ConfigKey(
    "OTC_AUTH_API_KEYS", [],
    'Accepted API keys: plain strings (>= 32 characters), "sha256:<64 hex>" digests, or '
    "records (dicts with id, hash, scopes, tenant, expires_at, not_before, disabled, policy: "
    "see the policies page).",
    type='list[str | dict]: keys, "sha256:<hex>" digests or key records',
    example=["sha256:" + "3f" * 32,
             {"id": "ci-bot", "hash": "sha256:" + "5a" * 32,
              "scopes": ["tools:list", "tools:call:Math.*"], "tenant": "acme",
              "expires_at": "2027-01-31T00:00:00Z",
              "policy": {"ip_allowlist": ["203.0.113.0/24"], "allowed_hours": "09:00-17:30",
                         "timezone": "Europe/Berlin", "ratelimit": "100/minute;1000/hour"}}],
    wrong="A key shorter than 32 characters or with characters a header cannot carry, a "
          'malformed "sha256:" digest, an issued otc_ key with a bad checksum, a record with an '
          "unknown or invalid field (named), the same key twice with a record, or an empty list "
          'while "api_key" is enabled without a loader.',
    bad_example=["too-short-to-be-a-key"], parse=_records)
CACHE_TTL_KEY: Final = ConfigKey(
    "OTC_AUTH_API_KEY_CACHE_TTL", 60,
    "Seconds an api_key_loader's record is cached before the loader is asked again.",
    type="int (seconds, >= 0)", example=30, wrong="Not a whole number >= 0.", bad_example=-1,
    parse=seconds(0))
NEGATIVE_CACHE_TTL_KEY: Final = ConfigKey(
    "OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL", 5,
    'Seconds an api_key_loader\'s "no such key" is cached.',
    type="int (seconds, >= 0)", example=2, wrong="Not a whole number >= 0.", bad_example="5",
    parse=seconds(0))
HEADERS_KEY: Final = ConfigKey(
    "OTC_AUTH_API_KEY_HEADERS", ["OTC-API-Key", "OXP-API-Key"],
    "Header names that carry the API key (case-insensitive).",
    type="list[str]: header names", example=["OTC-API-Key"],
    wrong="An empty list, or a name that is not a valid header name (or is Authorization).",
    bad_example=["OTC API Key"], parse=_header_names)


@dataclass(frozen=True, slots=True)
class ApiKeySettings:
    records: tuple[KeyRecord, ...]
    cache_ttl: int
    negative_cache_ttl: int
    headers: tuple[str, ...]
    weak_plaintexts: tuple[tuple[str, Strength], ...] = ()  # where, and how weak, for check
    dpop: DPoPSettings = field(default_factory=DPoPSettings)


class ApiKeyMethod(AuthMethod[ApiKeySettings]):
    """``api_key``: a key in a header, checked by its digest against records or a loader."""

    name = "api_key"
    keys = (KEYS_KEY, CACHE_TTL_KEY, NEGATIVE_CACHE_TTL_KEY, HEADERS_KEY)
    refusals = (INVALID_API_KEY, KEY_LOOKUP_UNAVAILABLE, INVALID_DPOP_PROOF, USE_DPOP_NONCE)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> ApiKeySettings:
        configured: ConfiguredKeys = values(KEYS_KEY)
        return ApiKeySettings(configured.records, values(CACHE_TTL_KEY),
                              values(NEGATIVE_CACHE_TTL_KEY), values(HEADERS_KEY),
                              configured.weak, dpop_settings(values).for_method(self.name))

    def check_enabled(self, settings: ApiKeySettings, context: Mapping[str, Any]) -> None:
        if not settings.records and not context.get("has_key_loader"):
            raise OTCAuthConfigError(
                'OTC_AUTH_METHODS enables "api_key" but OTC_AUTH_API_KEYS is empty: add at least '
                'one key (or its "sha256:<hex>" digest, or a record), register an '
                '@auth.api_key_loader before init_app, or remove "api_key" from '
                "OTC_AUTH_METHODS.")

    def secrets(self, settings: ApiKeySettings) -> Iterable[tuple[str, bytes]]:
        return ((f'OTC_AUTH_API_KEYS (id "{record.id}")', record.digest)
                for record in settings.records)

    def build(self, settings: ApiKeySettings, setup: Setup) -> Scheme:
        keys = KeyDirectory(settings.records, setup.key_loader, cache_ttl=settings.cache_ttl,
                            negative_cache_ttl=settings.negative_cache_ttl)
        scheme = ApiKeyScheme(keys, settings.headers, setup.scopeless_grants or frozenset())
        return with_dpop(scheme, settings.dpop, setup.storage,
                         identity_of=scheme.key_identity, token_of=str)

    def security_scheme(self, settings: ApiKeySettings) -> SchemeObject:
        header, *aliases = settings.headers
        also = f" (also accepted in: {', '.join(aliases)})" if aliases else ""
        return {
            "type": "apiKey",
            "in": "header",
            "name": header,
            "description": (
                f"OTC API key authentication: the static key in the `{header}` header{also} "
                "with each request, over HTTPS only. Missing or invalid keys are rejected with "
                "401 Unauthorized."
            ),
        }

    def describe(self, settings: ApiKeySettings, report: Report) -> None:
        records = settings.records
        report.lines.append(
            f"api_key: {len(records)} configured key(s), headers {', '.join(settings.headers)}, "
            "loader: " + (f"yes (cache {settings.cache_ttl} s, negative "
                          f"{settings.negative_cache_ttl} s)" if report.has_key_loader else "no"))
        describe_dpop(self.name, settings.dpop, report)
        usable = 0
        for record in records:
            report.lines.append("  " + _describe_record(record))
            reason = record.refusal(report.now)
            if reason == "expired":
                report.warnings.append(f'key "{record.id}" has expired: remove it.')
            elif (record.expires_at is not None
                  and record.expires_at - report.now < EXPIRY_WARNING_DAYS * _DAY):
                days = (record.expires_at - report.now) / _DAY
                report.warnings.append(f'key "{record.id}" expires in {days:.1f} days: issue its '
                                       "successor (flask otcauth generate-key) and hand it out.")
            usable += reason is None or reason == "not yet valid"
        for where, estimate in settings.weak_plaintexts:
            report.warnings.append(f"{where} {estimate.describe()}: anyone who guesses it is "
                                   "let in; issue a random key (flask otcauth generate-key) and "
                                   "configure its digest instead.")
        if records and not usable and not report.has_key_loader:
            report.errors.append('"api_key" is enabled but every configured key is expired or '
                                 "disabled: no key can authenticate.")

    def test_headers(self, settings: ApiKeySettings, request: TestRequest) -> dict[str, str]:
        key = request.options.get("key")
        if not isinstance(key, str):
            raise ValueError("An API key credential needs key=: the server holds only digests.")
        headers = {settings.headers[0]: key}
        dpop_key = request.options.get("dpop_key")  # a DPoPKey: its proof, ath the key's hash
        if dpop_key is not None:
            headers["DPoP"] = dpop_key.proof(request.method, request.url, access_token=key)
        return headers


def _describe_record(record: KeyRecord) -> str:
    parts = [f'"{record.id}"', "sha256:" + record.digest.hex()[:8] + "...",
             "scopes: " + (f"none given ({SCOPELESS_GRANTS})" if record.scopes is None
                           else " ".join(sorted(record.scopes)) or "(none)")]
    if record.tenant is not None:
        parts.append(f"tenant: {record.tenant}")
    if record.not_before is not None:
        parts.append(f"not before {_iso(record.not_before)}")
    if record.expires_at is not None:
        parts.append(f"expires {_iso(record.expires_at)}")
    if record.policy is not None:
        parts.append("policy")
    if record.jkt is not None:
        parts.append(f"DPoP-bound (jkt {record.jkt[:8]}...)")
    if record.disabled:
        parts.append("DISABLED")
    return ", ".join(parts)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


API_KEY: Final = ApiKeyMethod()
