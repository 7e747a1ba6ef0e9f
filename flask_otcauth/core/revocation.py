"""Revoked tokens, cut-offs and disabled keys, in the shared storage; Flask-free.

Three kinds of entry, every one with a TTL so that nothing outlives its use:

- a token, by issuer and ``jti``: the claims, never the bytes. An ECDSA signature has a second
  valid form (``s`` replaced by ``n - s``), so a hash of the raw token would let the same token
  in again with other bytes; its claims are the same whatever the signature's form. Kept until
  the token's ``exp`` plus the leeway: after that the token is refused as expired anyway.
- a cut-off, "every token of this subject (client, tenant, issuer) issued before T": ``iat`` <
  T, a token without ``iat`` counting as issued at ``exp`` minus the longest lifetime (the
  earliest it can have been). Kept the longest lifetime plus the leeway after T.
- a disabled API key record ``id`` or hmac client id: checked after the key was found, so it
  stops at once on every worker whatever the key loader's cache holds.

All of one request's entries are read in one storage call (``get_many``: one ``MGET`` on
Redis, all in one hash-tag slot), or, where the rate limits count on the same Redis with
their admit script, by that script, in the same round trip as the count (:class:`Lookup`).
A store that does not answer refuses (503), or lets the credential in unchecked with
``OTC_AUTH_REVOCATION_FALLBACK = "allow"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .identity import Identity
from .refusals import CREDENTIAL_REVOKED, INVALID_TOKEN, TEMPORARILY_UNAVAILABLE, AuthFailure
from .revocation_config import RevocationSettings
from .storage import Storage, StorageUnavailable, key_part

PREFIX: Final = "{revocations}:"  # a hash tag: one cluster slot, so one MGET reads them all
CUT_OFF_PREFIX: Final = PREFIX + "before:"
ANY: Final = ("",)
"""The threshold of an entry that refuses whatever it holds (a ``jti``, a disabled key)."""
_MAX_CALLERS: Final = 10_000  # callers whose cut-off keys are remembered
_MAX_CACHED_NAME: Final = 256  # longer names get their keys built each time
KEY_TTL: Final = 10 * 366 * 86_400
"""Seconds a disabled key stays disabled: until re-enabled, in practice (ten years)."""
SCOPES: Final = ("subject", "client", "tenant", "issuer")
KEY_METHODS: Final = ("api_key", "hmac")


def token_key(issuer: str, jti: str) -> str:
    return PREFIX + "jti:" + key_part(issuer) + ":" + jti


def cut_off_key(scope: str, value: str) -> str:
    return CUT_OFF_PREFIX + scope + ":" + value


def disabled_key(method: str, key_id: str) -> str:
    return PREFIX + "key:" + key_part(method) + ":" + key_id


def token_issuer(identity: Identity) -> str:
    """The issuer a token's ``jti`` is unique within: an oauth token's issuer, else its
    ``iss`` claim, else ``""`` (an OTC token of this server, which names none)."""
    issuer = identity.issuer if identity.issuer is not None else identity.claims.get("iss")
    return issuer if isinstance(issuer, str) else ""


class Revocations:
    """One app's revocation entries over its shared storage: written by the operator's API
    and CLI, read by :meth:`check` on every request while ``OTC_AUTH_REVOCATION`` is on."""

    def __init__(self, storage: Storage, settings: RevocationSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self._horizon = settings.max_lifetime + settings.leeway
        self._cut_offs: dict[tuple[str | None, ...], tuple[str, ...]] = {}

    # The operator's side.

    def revoke_token(self, jti: str, *, issuer: str = "", expires_at: float | None = None
                     ) -> None:
        """Refuse the token ``jti`` of ``issuer`` (``""``: this server's own OTC tokens) until
        ``expires_at`` (its ``exp``; unknown: the longest lifetime from now) plus the leeway."""
        _name(jti, "jti")
        now = self._clock()
        until = (now + self._settings.max_lifetime if expires_at is None else expires_at)
        ttl = math.ceil(until + self._settings.leeway - now)
        if ttl > 0:  # an expired token is refused anyway: nothing to keep
            self._storage.set(token_key(issuer, jti), "1", ttl)

    def unrevoke_token(self, jti: str, *, issuer: str = "") -> None:
        self._storage.delete(token_key(issuer, _name(jti, "jti")))

    def is_token_revoked(self, jti: str, *, issuer: str = "") -> bool:
        return self._storage.get(token_key(issuer, _name(jti, "jti"))) is not None

    def revoke_before(self, scope: str, value: str, before: float | None = None) -> float:
        """Refuse every token of ``scope`` ``value`` issued before ``before`` (default: now);
        returns the cut-off. A later cut-off replaces an earlier one."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        now = self._clock()
        cut = now if before is None else float(before)
        ttl = math.ceil(cut + self._horizon - now)
        if ttl > 0:
            self._storage.set(cut_off_key(scope, _name(value, scope)), repr(cut), ttl)
        return cut

    def cut_off(self, scope: str, value: str) -> float | None:
        """The cut-off of ``scope`` ``value`` still in force, or ``None``."""
        stored = self._storage.get(cut_off_key(scope, _name(value, scope)))
        return None if stored is None else float(stored)

    def remove_cut_off(self, scope: str, value: str) -> None:
        self._storage.delete(cut_off_key(scope, _name(value, scope)))

    def revoke_key(self, method: str, key_id: str) -> None:
        """Disable the API key record ``key_id`` (``method="api_key"``) or the hmac client
        ``key_id`` (``method="hmac"``) on every worker, until :meth:`unrevoke_key`."""
        self._storage.set(disabled_key(_method(method), _name(key_id, "id")), "1", KEY_TTL)

    def unrevoke_key(self, method: str, key_id: str) -> None:
        self._storage.delete(disabled_key(_method(method), _name(key_id, "id")))

    def is_key_revoked(self, method: str, key_id: str) -> bool:
        return self._storage.get(disabled_key(_method(method), _name(key_id, "id"))) is not None

    # The request's side.

    def check(self, identity: Identity) -> None:
        """Refuse a revoked ``identity`` (401 ``credential_revoked``, saying which entry
        matched), or return; 503 when the store does not answer and the fallback refuses.

        Cheap while nothing names the caller, the usual case: the keys are remembered per
        caller, and what a found entry means (a cut-off against the token's issue time) is
        only worked out for one that is there.
        """
        keys, _ = self._keys(identity)
        if not keys:
            return
        try:
            values = self._storage.get_many(keys)
        except StorageUnavailable:
            self.unavailable()
            return
        for value in values:
            if value is not None:
                self._refuse_if_matched(identity, values)
                return

    def lookup(self, identity: Identity) -> Lookup | None:
        """The entries that would refuse ``identity``, and what each must hold to refuse it;
        ``None`` when there is nothing to look up. Raises 401 ``invalid_token`` for a token
        without ``jti`` under ``OTC_AUTH_REVOCATION_REQUIRE_JTI``."""
        keys, matched = self._keys(identity)
        if not keys:
            return None
        if identity.method in KEY_METHODS:
            return Lookup(keys, ANY, 1, matched)
        issued = _issued_at(identity.claims, self._settings.max_lifetime)
        # A cut-off refuses a token issued before it: its value above ``issued``; a token
        # with no time at all is older than any cut-off.
        threshold = ANY[0] if issued is None else repr(issued)
        first = 1 if matched else 0
        return Lookup(keys, ANY * first + (threshold,) * (len(keys) - first), first, matched)

    def _keys(self, identity: Identity) -> tuple[tuple[str, ...], str]:
        """The storage keys of ``identity``'s entries, and how the first is named when it
        matches (``""`` when the first is a cut-off, named by its own key)."""
        method = identity.method
        if method in KEY_METHODS:
            name = identity.subject if method == "api_key" else identity.client
            if name is None:
                return (), ""
            return (disabled_key(method, name),), f"{method} {name} disabled"
        claims = identity.claims
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            if self._settings.require_jti:
                raise INVALID_TOKEN.failure(
                    "This server revokes tokens by jti (OTC_AUTH_REVOCATION_REQUIRE_JTI): "
                    "mint tokens with a unique jti claim.", method=method)
            jti = None
        issuer = token_issuer(identity)
        names = (identity.subject, identity.client, identity.tenant, issuer)
        cut_offs = self._cut_offs.get(names)
        if cut_offs is None:
            cut_offs = self._remember(names)
        if jti is None:
            return cut_offs, ""
        return (token_key(issuer, jti), *cut_offs), f"jti {jti} revoked"

    def _refuse_if_matched(self, identity: Identity, values: list[str | None]) -> None:
        """The refusal of the first of ``values`` (read for :meth:`lookup`'s keys) that
        refuses, if any does (a cut-off the token was issued after does not)."""
        lookup = self.lookup(identity)
        if lookup is None:
            return
        for index, value in enumerate(values):
            if value is not None and matches(lookup.thresholds[index], value):
                raise self.refusal(identity, lookup, index, value)

    def refusal(self, identity: Identity, lookup: Lookup, index: int, value: str
                ) -> AuthFailure:
        """The 401 for entry ``index`` of ``lookup``, found holding ``value``."""
        if index < lookup.first_cut_off:
            return _revoked(identity.method, lookup.matched)
        key = lookup.keys[index]
        scope, _, name = key.removeprefix(CUT_OFF_PREFIX).partition(":")
        return _revoked(identity.method, f"{scope} {name} cut off before {float(value):.0f}")

    def unavailable(self) -> None:
        """The store did not answer: 503, unless ``OTC_AUTH_REVOCATION_FALLBACK = "allow"``."""
        if self._settings.refuse_on_outage:
            raise TEMPORARILY_UNAVAILABLE.failure(
                "The revocation store did not answer, and this server refuses credentials "
                "it cannot check (OTC_AUTH_REVOCATION_FALLBACK = \"refuse\")."
            ) from None

    def _remember(self, names: tuple[str | None, ...]) -> tuple[str, ...]:
        """The cut-off keys of a subject, client, tenant and issuer, built once per caller."""
        keys = tuple(cut_off_key(scope, value)
                     for scope, value in zip(SCOPES, names, strict=True) if value)
        if max(len(value or "") for value in names) <= _MAX_CACHED_NAME:
            if len(self._cut_offs) >= _MAX_CALLERS:
                self._cut_offs.clear()  # a flood of names: start over, nothing is lost
            self._cut_offs[names] = keys
        return keys


@dataclass(frozen=True, slots=True)
class Lookup:
    """One credential's revocation entries: read by :meth:`Revocations.check` with one
    ``MGET``, or by the rate limits' admit script in the same round trip as the count.

    ``keys`` are storage keys (without the storage's namespace); ``thresholds[i]`` says what
    ``keys[i]`` must hold to refuse (:func:`matches`); the entries before ``first_cut_off``
    (a ``jti``, a disabled key) are named ``matched`` in the audit event.
    """

    keys: tuple[str, ...]
    thresholds: tuple[str, ...]
    first_cut_off: int
    matched: str


def matches(threshold: str, value: str) -> bool:
    """Whether an entry holding ``value`` refuses: any value, for the threshold ``""``; a
    cut-off (a time) above the token's issue time ``threshold``, otherwise. The admit script
    (:mod:`.ratelimit_scripts`) applies the same rule in Lua."""
    return not threshold or float(value) > float(threshold)


def _issued_at(claims: Mapping[str, Any], max_lifetime: int) -> float | None:
    """``iat``, else the earliest a token with this ``exp`` can have been issued."""
    iat, exp = claims.get("iat"), claims.get("exp")
    if isinstance(iat, (int, float)) and not isinstance(iat, bool):
        return float(iat)
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(exp) - max_lifetime
    return None  # no time at all: older than any cut-off


def _revoked(method: str, matched: str) -> AuthFailure:
    failure = CREDENTIAL_REVOKED.failure(method=method)
    failure.revocation = matched
    return failure


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _method(method: str) -> str:
    if method not in KEY_METHODS:
        raise ValueError(f"method must be one of {', '.join(KEY_METHODS)}, not {method!r}")
    return method
