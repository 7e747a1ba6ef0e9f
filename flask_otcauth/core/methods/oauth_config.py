"""The settings of the ``oauth`` method: its keys, and the issuer entries read from them.

Everything an operator can get wrong is refused here, at ``init_app``: a resource that is not
https, an issuer entry with an unknown field, a symmetric algorithm or ``none`` (a provider's
public key would then be an HMAC secret anyone can read), a static JWK Set holding private keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from ..config_keys import ConfigKey, boolean, leeway, seconds
from ..introspection import introspection_config
from ..jwks import FetchError, parse_key_set, url_problem
from ..refusals import OTCAuthConfigError
from ..scopes import ScopeError, checked_scopes

ASYMMETRIC: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                               "ES256", "ES384", "ES512", "EdDSA"})
DEFAULT_ALGORITHMS: Final = ("RS256", "PS256", "ES256", "EdDSA")
TOKEN_TYPES: Final = ("at+jwt",)
DEFAULT_CLOCK_SKEW: Final = 60
"""Seconds an ``iat``/``nbf`` may be ahead, as ``OTC_AUTH_JWT_CLOCK_SKEW``'s default: clocks of
real hosts disagree by a fraction of a second, and a token minted the instant before it is sent
would otherwise be refused now and then; ``exp`` stays strict (``leeway``, default 0)."""
_FIELDS: Final = frozenset({"issuer", "jwks_uri", "jwks", "algorithms", "audiences",
                            "scope_claim", "client_claim", "tenant_claim", "leeway",
                            "clock_skew", "max_lifetime", "token_type"})


def canonical_audience(value: str) -> str:
    """An audience as compared: scheme and host lower-cased (RFC 3986 section 6.2.2.1), the
    rest exactly as written, so ``https://h/mcp2`` never matches ``https://h/mcp``."""
    scheme, separator, rest = value.partition("://")
    if not separator:
        return value
    authority, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{authority.lower()}{slash}{path}"


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """One trusted authorization server, as configured."""

    issuer: str
    jwks_uri: str | None
    jwks: Mapping[str, Any] | None
    algorithms: frozenset[str]
    audiences: tuple[str, ...]
    scope_claim: str | None
    client_claim: str | None
    tenant_claim: str | None
    leeway: int
    max_lifetime: int | None
    token_type: str | None
    clock_skew: int = DEFAULT_CLOCK_SKEW


def _resource(value: Any, name: str) -> str | None:
    if value is None:
        return None
    problem = url_problem(value)
    if problem is not None:
        raise OTCAuthConfigError(f"{name} {problem}, such as \"https://tools.example.com\".")
    if urlsplit(value).query:
        raise OTCAuthConfigError(f"{name} must not have a query (RFC 9728 section 1.2).")
    return str(value)


def _optional_claim(entry: Mapping[str, Any], field: str, where: str) -> str | None:
    value = entry.get(field)
    if value is not None and (not isinstance(value, str) or not value):
        raise OTCAuthConfigError(f"{where}.{field} must be a claim name or absent.")
    return value


def _issuer_entry(entry: Any, where: str, resource: str | None) -> IssuerConfig:
    if not isinstance(entry, Mapping):
        raise OTCAuthConfigError(f"{where} must be a dict with at least an issuer.")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise OTCAuthConfigError(f"{where} has unknown field(s) {unknown}; known: "
                                 + ", ".join(sorted(_FIELDS)) + ".")
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise OTCAuthConfigError(f"{where}.issuer must be the issuer's exact iss string.")
    jwks_uri, jwks = entry.get("jwks_uri"), entry.get("jwks")
    if jwks_uri is not None and jwks is not None:
        raise OTCAuthConfigError(f"{where} gives both jwks_uri and jwks: give one, or neither "
                                 "for discovery.")
    if jwks_uri is not None and url_problem(jwks_uri) is not None:
        raise OTCAuthConfigError(f"{where}.jwks_uri {url_problem(jwks_uri)}.")
    if jwks is None and jwks_uri is None and url_problem(issuer) is not None:
        raise OTCAuthConfigError(f"{where}.issuer {url_problem(issuer)} for discovery; or give "
                                 "jwks_uri or jwks.")
    if jwks is not None:
        _check_static_jwks(jwks, where)
    algorithms = entry.get("algorithms", DEFAULT_ALGORITHMS)
    if (isinstance(algorithms, str) or not isinstance(algorithms, (list, tuple))
            or not algorithms or not all(isinstance(a, str) for a in algorithms)):
        raise OTCAuthConfigError(f"{where}.algorithms must be a non-empty list of names.")
    refused = sorted(set(algorithms) - ASYMMETRIC)
    if refused:
        raise OTCAuthConfigError(
            f"{where}.algorithms names {refused}: only asymmetric algorithms ("
            + ", ".join(sorted(ASYMMETRIC)) + ") are allowed; HS* would take the provider's "
            "public key as a shared secret, and none verifies nothing.")
    audiences = entry.get("audiences", [resource] if resource else [])
    if "audiences" in entry and (
            isinstance(audiences, str) or not isinstance(audiences, (list, tuple))
            or not audiences or not all(isinstance(a, str) and a for a in audiences)):
        raise OTCAuthConfigError(f"{where}.audiences must be a non-empty list of strings.")
    token_type = entry.get("token_type")
    if token_type is not None and token_type not in TOKEN_TYPES:
        raise OTCAuthConfigError(f'{where}.token_type must be "at+jwt" (RFC 9068) or absent.')
    max_lifetime = entry.get("max_lifetime")
    return IssuerConfig(
        issuer, jwks_uri, jwks, frozenset(algorithms),
        tuple(canonical_audience(a) for a in audiences),
        _optional_claim(entry, "scope_claim", where), _optional_claim(entry, "client_claim", where),
        _optional_claim(entry, "tenant_claim", where),
        leeway(entry.get("leeway", 0), f"{where}.leeway"),
        None if max_lifetime is None else seconds(1)(max_lifetime, f"{where}.max_lifetime"),
        token_type, leeway(entry.get("clock_skew", DEFAULT_CLOCK_SKEW), f"{where}.clock_skew"))


def _check_static_jwks(jwks: Any, where: str) -> None:
    if not isinstance(jwks, Mapping):
        raise OTCAuthConfigError(f"{where}.jwks must be a JWK Set: {{\"keys\": [...]}}.")
    try:
        if not parse_key_set(jwks, f"{where}.jwks").usable:
            raise FetchError("no usable key")
    except FetchError as error:
        raise OTCAuthConfigError(f"{where}.jwks is refused: {error}.") from None


def issuers(value: Any, name: str, resource: str | None) -> tuple[IssuerConfig, ...]:
    if not isinstance(value, (list, tuple)):
        raise OTCAuthConfigError(f"{name} must be a list of issuer entries (dicts).")
    entries = tuple(_issuer_entry(entry, f"{name}[{index}]", resource)
                    for index, entry in enumerate(value))
    names = [entry.issuer for entry in entries]
    if len(set(names)) != len(names):
        raise OTCAuthConfigError(f"{name} names an issuer twice.")
    return entries


def _checked_entries(value: Any, name: str) -> Any:
    """The entries as given: the audiences default to the resource, read with both keys."""
    if not isinstance(value, (list, tuple)):
        raise OTCAuthConfigError(f"{name} must be a list of issuer entries (dicts).")
    issuers(value, name, "https://resource.invalid")
    return value


def _scopes_supported(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise OTCAuthConfigError(f"{name} must be a list of scopes.")
    try:
        checked_scopes(value)
    except ScopeError as error:
        raise OTCAuthConfigError(f"{name}: {error}.") from None
    if "offline_access" in value:
        raise OTCAuthConfigError(f"{name} lists offline_access, which a resource server never "
                                 "advertises (it is the authorization server's business).")
    return tuple(dict.fromkeys(value))


RESOURCE_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_RESOURCE", None,
    "This server's canonical resource URI (RFC 8707 / RFC 9728): the default audience and the "
    "resource of the published metadata; required when \"oauth\" is enabled.",
    type="str | None (https URL)", example="https://tools.example.com/mcp",
    wrong="Not an https URL (http only for a loopback host), a URL with a query, fragment or "
          'user information, or unset while "oauth" is enabled.',
    bad_example="http://tools.example.com", parse=_resource)
ISSUERS_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_ISSUERS", [],
    "Trusted authorization servers: dicts with issuer and jwks_uri, jwks or neither "
    "(discovery), algorithms, audiences, scope_claim, client_claim, tenant_claim, leeway "
    "(after exp, default 0), clock_skew (iat/nbf ahead, default 60), max_lifetime, "
    "token_type; see docs/oauth.md.",
    type="list[dict]",
    example=[{"issuer": "https://id.example.com/realms/tools",
              "jwks_uri": "https://id.example.com/realms/tools/protocol/openid-connect/certs"}],
    wrong="Not a list of dicts, an entry without issuer or with an unknown field, jwks_uri and "
          "jwks both given, a URL that is not https, an algorithm that is not asymmetric (HS*, "
          "none), a static jwks with private members or no usable key, an issuer named twice; "
          'or none while "oauth" is enabled.',
    bad_example=[{"issuer": "https://id.example.com", "algorithms": ["HS256"]}],
    parse=_checked_entries)
SCOPES_SUPPORTED_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_SCOPES_SUPPORTED", [],
    "The scopes_supported of the protected resource metadata (RFC 9728).",
    type="list[str]", example=["tools:list", "tools:call:*"],
    wrong="Not a list of RFC 6749 scope tokens, or offline_access in it.",
    bad_example=["tools:list", "offline_access"], parse=_scopes_supported)
JWKS_TTL_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_JWKS_TTL", 300,
    "Seconds an issuer's keys are kept when its answer has no Cache-Control max-age (a "
    "max-age is honoured between the cooldown and 86400 s).",
    type="int (seconds, 1-86400)", example=600, wrong="Not a whole number in 1-86400.",
    bad_example=0, parse=seconds(1, 86400))
JWKS_COOLDOWN_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_JWKS_COOLDOWN", 30,
    "Seconds between two fetches of one issuer's keys, whatever asks (an unknown kid, a failed "
    "fetch).", type="int (seconds, 1-3600)", example=60,
    wrong="Not a whole number in 1-3600.", bad_example=-1, parse=seconds(1, 3600))
JWKS_MAX_STALE_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_JWKS_MAX_STALE", 86400,
    "Seconds the last good keys keep serving while fetches fail; past it, 401 (fail closed).",
    type="int (seconds, >= 1)", example=3600, wrong="Not a whole number >= 1.",
    bad_example="1 day", parse=seconds(1))
HTTP_TIMEOUT_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_HTTP_TIMEOUT", 5,
    "Seconds a fetch of discovery or keys may take (and a request waits for one in flight).",
    type="int (seconds, 1-60)", example=3, wrong="Not a whole number in 1-60.",
    bad_example=120, parse=seconds(1, 60))
JWKS_PREFETCH_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_JWKS_PREFETCH", False,
    "Fetch every issuer's keys at init_app (refusing to start, naming the issuer, when its "
    "keys cannot be fetched) and refresh them in a background thread per process before they "
    "expire, so no request waits for a fetch.",
    type="bool", example=True, wrong="Not true or false.", bad_example="yes", parse=boolean)
INTROSPECTION_KEY: Final = ConfigKey(
    "OTC_AUTH_OAUTH_INTROSPECTION", None,
    "Token introspection (RFC 7662) for tokens that are no JWT of a configured issuer: a dict "
    "with endpoint, client_id, either client_secret (sent as client_secret_basic) or "
    "private_key (private_key_jwt: a PEM file path or a private JWK, with algorithm and "
    "optionally key_id and assertion_audience, default the endpoint), and cache_ttl (seconds "
    "an active answer is kept in the shared storage, default 60, never past exp).",
    type="dict | None",
    example={"endpoint": "https://id.example.com/oauth2/introspect", "client_id": "tools",
             "client_secret": "from-the-environment", "cache_ttl": 60},
    wrong="Not a dict, an unknown field, endpoint or client_id missing or empty, both or "
          "neither of client_secret and private_key, a private key that cannot be read, is "
          "not private or does not fit its algorithm, an endpoint that is not https (http "
          "only for a loopback host), a cache_ttl outside 0-3600.",
    bad_example={"endpoint": "http://id.example.com/introspect", "client_id": "tools",
                 "client_secret": "from-the-environment"},
    parse=introspection_config)
KEYS: Final = (RESOURCE_KEY, ISSUERS_KEY, SCOPES_SUPPORTED_KEY, JWKS_TTL_KEY,
               JWKS_COOLDOWN_KEY, JWKS_MAX_STALE_KEY, HTTP_TIMEOUT_KEY, JWKS_PREFETCH_KEY,
               INTROSPECTION_KEY)
