"""The hmac method's settings: the signing clients, their secrets and scopes, and the window.

Parsed at ``init_app`` by the keys' own parsers; every error names the client and the field,
and never quotes a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ..config_keys import SECRET_EXAMPLE, ConfigKey, leeway, seconds, secret_bytes
from ..keys import thumbprint_field
from ..policy import Policy, parse_policy
from ..refusals import OTCAuthConfigError
from ..scopes import ScopeError, checked_scopes

MAX_AGE_SECONDS: Final = 3600
# The keyid="..." a client sends: an RFC 8941 string, visible ASCII without quote or backslash.
_CLIENT_ID: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")


def _client_scopes(value: Any) -> Mapping[str, frozenset[str]]:
    """The scopes of clients written as records with ``scopes``; any other client carries no
    scope information, so it gets ``OTC_AUTH_SCOPELESS_GRANTS``."""
    scopes: dict[str, frozenset[str]] = {}
    for client_id, entry in value.items():
        if not isinstance(entry, Mapping):
            continue
        where = f'OTC_AUTH_HMAC_CLIENTS["{client_id}"]'
        unknown = set(entry) - {"secrets", "scopes", "policy", "jkt"}
        if unknown:
            raise OTCAuthConfigError(f"{where} has unknown fields {sorted(map(str, unknown))}: a "
                                     'client record holds "secrets", "scopes", "policy" and '
                                     '"jkt".')
        if "scopes" not in entry:
            continue
        listed = entry["scopes"]
        if not isinstance(listed, list):
            raise OTCAuthConfigError(f"{where}.scopes must be a list of scopes.")
        try:
            scopes[str(client_id)] = checked_scopes(listed)
        except ScopeError as error:
            raise OTCAuthConfigError(f"{where}.scopes: {error}.") from None
    return MappingProxyType(scopes)


def _client_policies(value: Mapping[Any, Any]) -> Mapping[str, Policy]:
    """The policies of clients written as records with ``policy``."""
    return MappingProxyType({
        str(client_id): parse_policy(entry["policy"],
                                     f'OTC_AUTH_HMAC_CLIENTS["{client_id}"].policy')
        for client_id, entry in value.items()
        if isinstance(entry, Mapping) and entry.get("policy") is not None})


def _client_thumbprints(value: Mapping[Any, Any]) -> Mapping[str, str]:
    """The DPoP key thumbprints of clients written as records with ``jkt``."""
    return MappingProxyType({
        str(client_id): jkt for client_id, entry in value.items()
        if isinstance(entry, Mapping) and (jkt := thumbprint_field(
            entry.get("jkt"), f'OTC_AUTH_HMAC_CLIENTS["{client_id}"].jkt')) is not None})


def _clients(value: Any, name: str) -> HmacSettingsClients:
    """Client ids with their secrets, current first; never quotes a secret in an error."""
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f'{name} must be a mapping {{"client-id": "secret"}}, got '
                                 f"{type(value).__name__}.")
    scopes = _client_scopes(value)
    clients = []
    for client_id, entry in value.items():
        if not isinstance(client_id, str) or _CLIENT_ID.fullmatch(client_id) is None:
            raise OTCAuthConfigError(f"{name} has a client id that is not 1-128 visible ASCII "
                                     "characters without quotes or backslashes (the keyid).")
        where = f'{name}["{client_id}"]'
        if isinstance(entry, Mapping):  # {"secrets": [...], "scopes": [...]}
            where, given = f"{where}.secrets", entry.get("secrets")
        else:
            given = entry
        entries = [given] if isinstance(given, str) else given
        if not isinstance(entries, list) or not entries:
            raise OTCAuthConfigError(f'{where} must be a secret or a list ["current", "previous"].')
        secrets = []
        for index, secret in enumerate(entries):
            label = where if isinstance(given, str) else f"{where}[{index}]"
            if not isinstance(secret, str):
                raise OTCAuthConfigError(f"{label} must be a string.")
            secrets.append((label, secret_bytes(secret, label, "signing secrets")))
        clients.append((client_id, tuple(secrets)))
    return HmacSettingsClients(tuple(clients), scopes, _client_policies(value),
                               _client_thumbprints(value))


@dataclass(frozen=True, slots=True)
class HmacSettingsClients:
    """The clients as configured: each secret with the place it was written, for errors."""

    labelled: tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...]
    scopes: Mapping[str, frozenset[str]]
    policies: Mapping[str, Policy] = field(default_factory=lambda: MappingProxyType({}))
    thumbprints: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


CLIENTS_KEY: Final = ConfigKey(
    "OTC_AUTH_HMAC_CLIENTS", {},
    'Request-signing clients: {"client-id": "secret" | ["current", "previous"] | '
    '{"secrets": [...], "scopes": [...], "policy": {...}, "jkt": "..."}}, secrets >= 32 bytes '
    "and distinct from API keys; a policy as on the policies page; jkt binds the client to a "
    "DPoP key (the docs' DPoP page).",
    type='dict[str, str | list[str] | dict]: client id -> secret, [current, previous], or '
         '{"secrets": [...], "scopes": [...], "policy": {...}}',
    example={"agent-platform": SECRET_EXAMPLE},
    wrong="Not a mapping, a client id a keyid cannot carry, a secret shorter than 32 bytes or "
          "also used as an API key or JWT secret, a client record with a field other than "
          '"secrets", "scopes", "policy" and "jkt" (named), a jkt that is no SHA-256 thumbprint, '
          "a malformed policy (the client and field named), scopes that are not a list of "
          "valid scopes (visible ASCII without spaces or "
          'quotes), or empty while "hmac" is enabled.',
    bad_example={"agent-platform": {"secrets": [SECRET_EXAMPLE], "scope": []}}, parse=_clients)
MAX_AGE_KEY: Final = ConfigKey(
    "OTC_AUTH_HMAC_MAX_AGE", 300,
    "Seconds: a signature whose created is older than this is refused.",
    type="int (seconds, 1-3600)", example=120, wrong="Not a whole number in 1-3600.",
    bad_example=7200, parse=seconds(1, MAX_AGE_SECONDS))
LEEWAY_KEY: Final = ConfigKey(
    "OTC_AUTH_HMAC_LEEWAY", 5,
    "Seconds a signature's created may be ahead of the server's clock (0-300).",
    type="int (seconds, 0-300)", example=2,
    wrong="Not a whole number, negative, or over 300 (fix the clocks instead).",
    bad_example=-5, parse=leeway)
