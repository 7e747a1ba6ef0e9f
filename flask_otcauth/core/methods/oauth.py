"""OAuth 2.1 access tokens from an identity provider: asymmetric JWTs over its JWKS (RFC 9068).

The server is a resource server (RFC 9728): it trusts the issuers it is configured with, takes
each one's keys from :mod:`..jwks`, and checks a token as the OTC tokens are checked (the
strict parsing of :mod:`..jose`, ``exp`` required) plus what an access token needs: the issuer
chosen by exact ``iss`` before any key or network is touched, the ``alg`` on that issuer's list
and agreeing with the key, and ``aud`` naming this resource. A token reaches exactly one of
``jwt`` and ``oauth``: :meth:`OAuthScheme.routes_token` decides from its header alone.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import jwt

from ..cache import VerifiedTokenCache
from ..config_keys import ConfigKey
from ..identity import Identity
from ..introspection import IntrospectionConfig, Introspector
from ..jose import MAX_HEADER_LENGTH, parse_compact_jws
from ..jwks import KeyClient, KeysUnavailable, UsableKey
from ..jwks_report import describe_issuer
from ..refusals import INVALID_TOKEN, TEMPORARILY_UNAVAILABLE, AuthFailure, OTCAuthConfigError
from ..scopes import ScopeError, checked_scopes, scopes_from_claims
from ..storage import MemoryStorage, Storage
from .base import (
    AuthMethod,
    AuthRequest,
    Report,
    SchemeObject,
    Setup,
    TestRequest,
    quoted_string_content,
)
from .oauth_config import (
    ASYMMETRIC,
    HTTP_TIMEOUT_KEY,
    INTROSPECTION_KEY,
    ISSUERS_KEY,
    JWKS_COOLDOWN_KEY,
    JWKS_MAX_STALE_KEY,
    JWKS_TTL_KEY,
    KEYS,
    RESOURCE_KEY,
    SCOPES_SUPPORTED_KEY,
    IssuerConfig,
    canonical_audience,
    issuers,
)

METHOD: Final = "oauth"
MAX_TOKEN_LENGTH: Final = 8192
METADATA_PATH: Final = "/.well-known/oauth-protected-resource"
# kid selects the key; x5t / x5t#S256 are thumbprints Entra and others send (never a key source).
_HEADER: Final = frozenset({"alg", "typ", "kid", "x5t", "x5t#S256"})
_TYPES: Final = frozenset({"JWT", "at+jwt", "application/at+jwt"})
_AT_JWT: Final = frozenset({"at+jwt", "application/at+jwt"})
# What each alg needs of the key: its kty and, for EC and OKP, its curve.
_KEY_FOR: Final[Mapping[str, tuple[str, frozenset[str | None]]]] = MappingProxyType({
    **{alg: ("RSA", frozenset({None})) for alg in ("RS256", "RS384", "RS512", "PS256",
                                                   "PS384", "PS512")},
    "ES256": ("EC", frozenset({"P-256"})), "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})), "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
})
_ALGORITHM_OBJECTS: Final = MappingProxyType(
    {name: jwt.get_algorithm_by_name(name) for name in ASYMMETRIC})


_MAX_ROUTED: Final = 256
_ROUTED: dict[str, str | None] = {}  # a token's header -> its alg (None: no JWS header)


def _refusal(hint: str) -> AuthFailure:
    return INVALID_TOKEN.failure(hint, method=METHOD)


def metadata_paths(resource: str) -> tuple[str, ...]:
    """Where RFC 9728 section 3.1 puts the metadata: the well-known path, with the resource's
    path inserted after it when it has one."""
    path = urlsplit(resource).path.rstrip("/")
    return (METADATA_PATH, METADATA_PATH + path) if path else (METADATA_PATH,)


def metadata_url(resource: str) -> str:
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{metadata_paths(resource)[-1]}"


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    resource: str | None
    issuers: tuple[IssuerConfig, ...]
    scopes_supported: tuple[str, ...]
    jwks_ttl: int
    jwks_cooldown: int
    jwks_max_stale: int
    http_timeout: int
    introspection: IntrospectionConfig | None = None

    def metadata(self) -> dict[str, Any]:
        """The protected resource metadata document (RFC 9728 section 2)."""
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": [entry.issuer for entry in self.issuers],
            "bearer_methods_supported": ["header"],
        }
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        return document


class OAuthScheme:
    """Accepts ``Authorization: Bearer <access token>`` issued by a configured issuer."""

    method: Final = METHOD
    credential_hint: Final = "Authorization: Bearer <access token from the identity provider>"

    def __init__(self, settings: OAuthSettings, storage: Storage | None = None) -> None:
        if settings.resource is None:
            raise OTCAuthConfigError("OTC_AUTH_OAUTH_RESOURCE is not set.")
        self.introspector = None if settings.introspection is None else Introspector(
            settings.introspection, storage=storage if storage is not None else MemoryStorage(),
            audiences=frozenset(canonical_audience(a) for entry in settings.issuers
                                for a in entry.audiences) | {canonical_audience(
                                    settings.resource)},
            issuers=frozenset(entry.issuer for entry in settings.issuers),
            timeout=settings.http_timeout, canonical=canonical_audience)
        self._issuers = {entry.issuer: entry for entry in settings.issuers}
        self.clients = {entry.issuer: KeyClient(
            entry.issuer, jwks_uri=entry.jwks_uri, jwks=entry.jwks, ttl=settings.jwks_ttl,
            cooldown=settings.jwks_cooldown, max_stale=settings.jwks_max_stale,
            timeout=settings.http_timeout) for entry in settings.issuers}
        self._algorithms = frozenset().union(*(entry.algorithms for entry in settings.issuers))
        self._max_stale = settings.jwks_max_stale
        self._challenge = f'Bearer resource_metadata="{metadata_url(settings.resource)}"'
        self._verified = VerifiedTokenCache()

    def extract(self, request: AuthRequest) -> str | None:
        query = request.query()
        if query.startswith("access_token=") or "&access_token=" in query:
            # RFC 9700 section 2.4.2 / OAuth 2.1: a token in a URL ends up in logs and caches.
            raise _refusal("Send the token in the Authorization header, never in the URL: "
                           "consider a token sent in a query string exposed.")
        value = request.header("Authorization")
        if value is None:
            return None
        scheme, _, token = value.partition(" ")
        if len(scheme) == 6 and scheme.lower() == "bearer":
            return token.lstrip(" ")
        if value.lstrip()[:6].lower() == "bearer":
            raise _refusal("Send the token as Authorization: Bearer <token>, with one space.")
        return None

    def routes_token(self, token: str) -> bool:
        """Whether this bearer token is ours rather than another Bearer method's: its header
        names an asymmetric alg, or (with introspection) it is no JWS at all. Read from the
        header alone, before any key is tried; the alg is remembered per header (tokens of one
        issuer share a handful)."""
        header, _, _ = token[:MAX_HEADER_LENGTH + 1].partition(".")
        if header in _ROUTED:
            alg = _ROUTED[header]
        else:
            try:
                decoded = json.loads(binascii.a2b_base64(
                    header.replace("-", "+").replace("_", "/") + "=" * (-len(header) % 4)))
            except (ValueError, binascii.Error, RecursionError):
                decoded = None
            value = decoded.get("alg") if isinstance(decoded, dict) else None
            alg = value if isinstance(value, str) else None
            if len(_ROUTED) >= _MAX_ROUTED:
                _ROUTED.clear()  # junk headers: start over rather than grow
            _ROUTED[header] = alg
        return alg in ASYMMETRIC or (alg is None and self.introspector is not None)

    def verify(self, credential: str, now: float) -> Identity:
        if len(credential) > MAX_TOKEN_LENGTH:
            raise _refusal(f"The credential is longer than {MAX_TOKEN_LENGTH} characters.")
        remembered = self._verified.get(credential, now)
        if remembered is not None:
            return remembered
        try:
            identity, valid_until = self._verify_afresh(credential, now)
        except _Opaque:  # not remembered here: the shared storage holds the answer
            return self._introspected(credential, now)
        self._verified.put(credential, valid_until, identity)
        return identity

    def _verify_afresh(self, credential: str, now: float) -> tuple[Identity, float]:
        if not credential:
            raise _refusal("The credential header is empty.")
        try:
            parsed = parse_compact_jws(credential, algorithms=self._algorithms,
                                       header_names=_HEADER, types=_TYPES)
        except AuthFailure as failure:
            if self.introspector is not None:
                raise _Opaque from None
            failure.method = METHOD
            raise
        header, claims = parsed.header, parsed.claims
        entry = self._issuers.get(claims.get("iss"))  # type: ignore[arg-type]
        if entry is None:
            if self.introspector is not None:
                raise _Opaque
            raise _refusal("The token's iss is not an issuer this server trusts.")
        if header["alg"] not in entry.algorithms:
            raise _refusal("The token's alg is not one its issuer is configured to use.")
        if entry.token_type is not None and header.get("typ") not in _AT_JWT:
            raise _refusal('The token must be an RFC 9068 access token (typ "at+jwt").')
        self._check_claims(entry, claims, now)  # before keys: no fetch for a dead token
        key = self._key(entry, header, now)
        if not _ALGORITHM_OBJECTS[header["alg"]].verify(parsed.signing_input, key.jwk.key,
                                                        parsed.signature):
            raise _refusal("The signature does not verify with the issuer's key.")
        client = self.clients[entry.issuer]
        valid_until = claims["exp"] + entry.leeway
        if entry.jwks is None:  # never remembered past the keys' maximum staleness
            valid_until = min(valid_until, client.fetched_at + self._max_stale)
        return Identity(
            method=METHOD, subject=claims.get("sub"), client=_client(entry, claims),
            claims=MappingProxyType(claims), scopes=_scopes(entry, claims),
            tenant=_string_claim(claims, entry.tenant_claim), issuer=entry.issuer,
        ), valid_until

    def _introspected(self, credential: str, now: float) -> Identity:
        """RFC 7662: what the authorization server says of a token that is no JWT of ours."""
        if self.introspector is None:  # never: _Opaque is raised only with one
            raise _refusal("The token's iss is not an issuer this server trusts.")
        answer = self.introspector.claims(credential, now)
        entry = self._issuers.get(answer.get("iss"))  # type: ignore[arg-type]
        try:
            scopes = checked_scopes(answer.get("scope", "").split())
        except ScopeError:
            raise _refusal("The introspected token's scope is not a list of RFC 6749 scope "
                           "tokens.") from None
        return Identity(
            method=METHOD, subject=answer.get("sub"), client=answer.get("client_id") or None,
            claims=MappingProxyType(answer), scopes=scopes,
            tenant=_string_claim(answer, entry.tenant_claim) if entry is not None else None,
            issuer=answer.get("iss"))

    def _check_claims(self, entry: IssuerConfig, claims: dict[str, Any], now: float) -> None:
        allowed = entry.leeway
        if "exp" not in claims:
            raise _refusal("The token lacks exp.")
        if int(claims["exp"]) <= now - allowed:
            raise _refusal("The token has expired: get a new one from the identity provider.")
        for name in ("nbf", "iat"):
            if name in claims and int(claims[name]) > now + allowed:
                raise _refusal("The token is not valid yet (nbf or iat is in the future).")
        if entry.max_lifetime is not None and claims["exp"] > now + entry.max_lifetime + allowed:
            raise _refusal(f"The token's exp is more than {entry.max_lifetime} s ahead.")
        audience = claims.get("aud")
        values = [audience] if isinstance(audience, str) else (audience or [])
        if not any(canonical_audience(value) in entry.audiences for value in values):
            raise _refusal("The token's aud does not name this resource server.")

    def _key(self, entry: IssuerConfig, header: dict[str, Any], now: float) -> UsableKey:
        client = self.clients[entry.issuer]
        kid = header.get("kid")
        try:
            keys = client.key_set(now)
            if kid is None:
                if len(keys.usable) != 1:
                    raise _refusal("The token has no kid, and its issuer publishes several keys.")
                key = keys.usable[0]
            else:
                found = keys.by_kid.get(kid)
                if found is None:  # a rotation, or junk: refetched at most once per cooldown
                    found = client.key_set(now, unknown_kid=True).by_kid.get(kid)
                if found is None:
                    raise _refusal("The token's kid names no key its issuer publishes.")
                key = found
        except KeysUnavailable:
            raise _refusal("The issuer's keys cannot be fetched right now, and no recent copy "
                           "is held.") from None
        kty, curves = _KEY_FOR[header["alg"]]
        if key.kty != kty or key.crv not in curves or key.alg not in (None, header["alg"]):
            raise _refusal("The token's alg does not agree with its key.")
        return key

    def challenge(self, failure: AuthFailure | None) -> str:
        value = self._challenge
        if failure is not None and failure.required_scopes:
            value += f', scope="{" ".join(failure.required_scopes)}"'
        if failure is not None and failure.method == METHOD:
            description = quoted_string_content(failure.developer_message)
            return value + f', error="invalid_token", error_description="{description}"'
        return value

    def scope_challenge(self, failure: AuthFailure) -> str:
        """The 403 challenge (RFC 6750 section 3.1, RFC 9728 section 5.1)."""
        return (f'{self._challenge}, error="insufficient_scope", '
                f'scope="{" ".join(failure.required_scopes)}"')


class _Opaque(Exception):  # noqa: N818 - a routing decision, never raised past verify
    """The token is no JWT of a configured issuer: introspection decides."""


def _string_claim(claims: Mapping[str, Any], name: str | None) -> str | None:
    value = claims.get(name) if name is not None else None
    return value if isinstance(value, str) and value else None


def _client(entry: IssuerConfig, claims: Mapping[str, Any]) -> str | None:
    if entry.client_claim is not None:
        return _string_claim(claims, entry.client_claim)
    return _string_claim(claims, "client_id") or _string_claim(claims, "azp")


def _scopes(entry: IssuerConfig, claims: Mapping[str, Any]) -> frozenset[str]:
    try:
        if entry.scope_claim is None:
            # An authorization server that grants no scope granted none: OAuth tokens are held
            # to their own claims (OTC_AUTH_SCOPELESS_GRANTS is for the OTC spec's credentials).
            granted = scopes_from_claims(claims)
            return granted if granted is not None else frozenset()
        value = claims.get(entry.scope_claim, [])
        if isinstance(value, str):
            return checked_scopes(value.split())
        if isinstance(value, list):
            return checked_scopes(value)
    except ScopeError:
        pass
    raise _refusal("The token's scopes must be a space-separated string or a list of RFC 6749 "
                   "scope tokens.")


class OAuthMethod(AuthMethod[OAuthSettings]):
    """``oauth``: OAuth 2.1 access tokens (JWT) from configured identity providers."""

    name = METHOD
    keys = KEYS
    refusals = (INVALID_TOKEN, TEMPORARILY_UNAVAILABLE)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> OAuthSettings:
        resource = values(RESOURCE_KEY)
        return OAuthSettings(
            resource, issuers(values(ISSUERS_KEY), ISSUERS_KEY.name, resource),
            values(SCOPES_SUPPORTED_KEY), values(JWKS_TTL_KEY), values(JWKS_COOLDOWN_KEY),
            values(JWKS_MAX_STALE_KEY), values(HTTP_TIMEOUT_KEY), values(INTROSPECTION_KEY))

    def check_enabled(self, settings: OAuthSettings, context: Mapping[str, Any]) -> None:
        if settings.resource is None:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "oauth" but '
                                     "OTC_AUTH_OAUTH_RESOURCE is not set: set it to this "
                                     'server\'s canonical URL, such as "https://tools.example.com".')
        if not settings.issuers:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "oauth" but '
                                     "OTC_AUTH_OAUTH_ISSUERS is empty: list the identity "
                                     "providers whose tokens this server accepts.")

    def build(self, settings: OAuthSettings, setup: Setup) -> OAuthScheme:
        return OAuthScheme(settings, setup.storage)

    def security_scheme(self, settings: OAuthSettings) -> SchemeObject:
        return {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": (
                "OAuth 2.1 access tokens (RFC 9068 JWTs signed with "
                + ", ".join(sorted(frozenset().union(*(e.algorithms for e in settings.issuers))))
                + f") from the authorization servers listed at {METADATA_PATH} (RFC 9728), "
                "whose aud names this resource. Missing, invalid or expired tokens are "
                "rejected with 401 Unauthorized."),
        }

    def describe(self, settings: OAuthSettings, report: Report) -> None:
        report.lines.append(f"oauth: resource {settings.resource}, issuers: "
                            + ", ".join(entry.issuer for entry in settings.issuers)
                            + f"; keys kept {settings.jwks_ttl} s, refetched at most every "
                            f"{settings.jwks_cooldown} s, stale keys served up to "
                            f"{settings.jwks_max_stale} s, per worker")
        for entry in settings.issuers:  # fetched now, as a worker would, with a short timeout
            describe_issuer(report, issuer=entry.issuer, jwks_uri=entry.jwks_uri,
                            jwks=entry.jwks, ttl=settings.jwks_ttl,
                            cooldown=settings.jwks_cooldown, timeout=settings.http_timeout)
        if settings.introspection is not None:
            report.lines.append(
                f"oauth: other tokens introspected at {settings.introspection.endpoint} "
                f"(RFC 7662) as client {settings.introspection.client_id}, active answers "
                f"kept up to {settings.introspection.cache_ttl} s in {report.storage_uri}")

    def test_headers(self, settings: OAuthSettings, request: TestRequest) -> dict[str, str]:
        token = request.options.get("token")
        if not isinstance(token, str):
            raise ValueError("oauth needs token=...: mint one with the plugin's "
                             "otc_oauth_issuer.make_token(...) (make_oauth_token).")
        return {"Authorization": f"Bearer {token}"}


OAUTH: Final = OAuthMethod()
