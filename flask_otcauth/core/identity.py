"""Who is calling: the single result every scheme produces, whatever it verified."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from .scopes import grants

if TYPE_CHECKING:
    from .policy import Policy

_NO_CLAIMS: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Identity:
    """The verified caller of one request.

    Frozen and with read-only ``claims`` so that a view cannot widen what was verified.
    ``subject`` is ``None`` when the credential names nobody (no-auth mode, or a JWT without
    ``sub``: the spec's minimal token is ``{"aud": ..., "exp": ...}``). ``tenant`` comes from an
    API key record (or the token claim an ``oauth`` issuer names), for servers shared by several
    customers. ``issuer`` is the authorization server that issued an ``oauth`` token.
    ``scope_source`` says where ``scopes`` come from (``'key record "ci-bot"'``, ``"the token's
    scope claim"``, ``'OTC_AUTH_HMAC_CLIENTS["x"]'``, or ``"OTC_AUTH_SCOPELESS_GRANTS"`` for a
    credential that carries no scopes), so the log line of a 403 tells the operator what to
    change; it takes no part in comparing identities. ``policy`` is the credential's own
    access policy (a key record's, an hmac client's), ``None`` for none; a token's client may
    have one in ``OTC_AUTH_CLIENT_POLICIES`` instead. ``budget`` is the credential's own call
    budget per window (a key record's ``budget``), ``None`` for none.
    """

    method: str
    subject: str | None = None
    client: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: _NO_CLAIMS)
    scopes: frozenset[str] = field(default=frozenset())
    tenant: str | None = None
    scope_source: str | None = field(default=None, compare=False)
    issuer: str | None = None
    policy: Policy | None = field(default=None, compare=False, repr=False)
    budget: int | None = field(default=None, compare=False)

    def has_scope(self, scope: str) -> bool:
        """Whether the caller may do ``scope`` (wildcards such as ``tools:call:*`` included).

        Always true in no-auth mode: ``OTC_AUTH_METHODS = ["none"]`` opens every view.
        """
        return self.method == "none" or grants(self.scopes, scope)

    @property
    def rate_limit_key(self) -> str | None:
        """The bucket this caller's requests are counted in, or ``None`` when it has no name.

        Keyed by who the caller is, not by the credential string, so re-minting tokens does not
        buy a fresh budget. A caller with neither subject nor client is counted by address.
        """
        name = self.subject if self.subject is not None else self.client
        if name is None:
            return None
        if self.tenant is not None:
            return f"{self.method}:{self.tenant}/{name}"
        return f"{self.method}:{name}"


NO_AUTH_IDENTITY: Final = Identity(method="none")


def key_fingerprint(digest: bytes) -> str:
    """The public name of an API key: never the key, only a prefix of its SHA-256."""
    return "key:" + digest.hex()[:12]


def credential_fingerprint(credential: str) -> str:
    """A presented credential's name in the audit log: 8 hex of its SHA-256, never the value.

    For an API key these are the first 8 digits of the key's ``subject``, so a failing key can
    be matched with a configured one.
    """
    return hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
