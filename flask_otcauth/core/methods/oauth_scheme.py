"""The ``oauth`` method's work on each request: the Bearer token taken, routed and verified.

A token reaches exactly one of ``jwt`` and ``oauth``: :meth:`OAuthScheme.routes_token` decides
from its header alone. The issuer is chosen by exact ``iss`` before any key or network is
touched, the ``alg`` must be on that issuer's list, the claims are checked
(:mod:`.oauth_claims`) before the key is looked up, so a dead or foreign token never causes a
fetch; a token that is no JWT of a configured issuer goes to introspection when it is set up.
The challenges are RFC 6750's, with RFC 9728's ``resource_metadata``.
"""

from __future__ import annotations

import binascii
import json
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import jwt

from ..cache import VerifiedTokenCache
from ..dpop_config import DPoPSettings
from ..identity import Identity
from ..introspection import IntrospectionConfig, Introspector
from ..jose import MAX_HEADER_LENGTH, parse_compact_jws
from ..jwks import KeyClient, KeysUnavailable, UsableKey
from ..jwks_refresh import KeyRefresher, prefetch, started
from ..mtls_source import CertificateSource
from ..refusals import AuthFailure, OTCAuthConfigError
from ..storage import MemoryStorage, Storage
from .base import AuthRequest, quoted_string_content
from .oauth_claims import (
    METHOD,
    check_claims,
    check_key_agrees,
    introspected_identity,
    refusal,
    token_identity,
)
from .oauth_config import ASYMMETRIC, IssuerConfig, canonical_audience
from .oauth_dpop import DPoPBinding, DPoPCredential, bound_thumbprint

MAX_TOKEN_LENGTH: Final = 8192
METADATA_PATH: Final = "/.well-known/oauth-protected-resource"
# kid selects the key; x5t / x5t#S256 are thumbprints Entra and others send (never a key source).
_HEADER: Final = frozenset({"alg", "typ", "kid", "x5t", "x5t#S256"})
_TYPES: Final = frozenset({"JWT", "at+jwt", "application/at+jwt"})
_AT_JWT: Final = frozenset({"at+jwt", "application/at+jwt"})
_ALGORITHM_OBJECTS: Final = MappingProxyType(
    {name: jwt.get_algorithm_by_name(name) for name in ASYMMETRIC})
_MAX_ROUTED: Final = 256
_ROUTED: dict[str, str | None] = {}  # a token's header -> its alg (None: no JWS header)


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
    jwks_prefetch: bool = False
    dpop: DPoPSettings = field(default_factory=DPoPSettings)
    certificate_source: CertificateSource | None = None
    certificate_bound_tokens: bool = False

    def metadata(self) -> dict[str, Any]:
        """The protected resource metadata document (RFC 9728 section 2)."""
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": [entry.issuer for entry in self.issuers],
            "bearer_methods_supported": ["header"],
        }
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        if self.dpop.enabled:
            document["dpop_signing_alg_values_supported"] = list(self.dpop.algorithms)
            if self.dpop.required:
                document["dpop_bound_access_tokens_required"] = True
        if self.certificate_bound_tokens:  # RFC 8705 section 3.4
            document["tls_client_certificate_bound_access_tokens"] = True
        return document


class OAuthScheme:
    """Accepts ``Authorization: Bearer <access token>`` issued by a configured issuer."""

    method: Final = METHOD
    credential_hint: str = "Authorization: Bearer <access token from the identity provider>"

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
        self.dpop = None if not settings.dpop.enabled else DPoPBinding(
            settings.dpop, storage if storage is not None else MemoryStorage(),
            metadata_url(settings.resource))
        self._required = settings.dpop.required
        if self._required:
            self.credential_hint = ("Authorization: DPoP <access token from the identity "
                                    "provider> with a DPoP proof header")
        if self.dpop is not None:
            self.spends_credential = True  # a proof's jti: verified after other methods
        self.adds_success_headers = self.dpop is not None and settings.dpop.nonces
        self.refresher: KeyRefresher | None = None
        if settings.jwks_prefetch:
            prefetch(self.clients.values(), time.time())
            self.refresher = started(self, self.clients.values())

    def extract(self, request: AuthRequest) -> str | DPoPCredential | None:
        query = request.query()
        if query.startswith("access_token=") or "&access_token=" in query:
            # RFC 9700 section 2.4.2 / OAuth 2.1: a token in a URL ends up in logs and caches.
            raise refusal("Send the token in the Authorization header, never in the URL: "
                          "consider a token sent in a query string exposed.")
        value = request.header("Authorization")
        if value is None:
            return None
        scheme, _, token = value.partition(" ")
        if len(scheme) == 6 and scheme.lower() == "bearer":
            return token.lstrip(" ")
        if value.lstrip()[:6].lower() == "bearer":
            raise refusal("Send the token as Authorization: Bearer <token>, with one space.")
        if len(scheme) == 4 and scheme.lower() == "dpop":  # refused in verify without DPoP,
            # once routing gave it to us (jwt may take DPoP tokens too)
            return DPoPCredential(token.lstrip(" "), request.header("DPoP"), request.method,
                                  request.target_uri())
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

    def verify(self, credential: str | DPoPCredential, now: float) -> Identity:
        dpop = self.dpop
        if type(credential) is DPoPCredential:
            if dpop is None:
                raise refusal("This server does not take DPoP proofs for oauth tokens "
                              "(OTC_AUTH_DPOP is off, or OTC_AUTH_DPOP_METHODS omits oauth).")
            return dpop.verify(credential, now, self.token_identity)
        identity = self.token_identity(credential, now)  # type: ignore[arg-type]
        if "cnf" in identity.claims or self._required:  # one lookup for an unbound token
            if dpop is not None:
                dpop.check_bearer(identity)
            elif bound_thumbprint(identity) is not None:
                raise refusal("The token is DPoP-bound (cnf.jkt), and this server does not "
                              "take DPoP proofs: it cannot be used here.")
        return identity

    def token_identity(self, credential: str, now: float) -> Identity:
        """What the token itself proves, whichever way it was presented."""
        if len(credential) > MAX_TOKEN_LENGTH:
            raise refusal(f"The credential is longer than {MAX_TOKEN_LENGTH} characters.")
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
            raise refusal("The credential header is empty.")
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
            raise refusal("The token's iss is not an issuer this server trusts.")
        if header["alg"] not in entry.algorithms:
            raise refusal("The token's alg is not one its issuer is configured to use.")
        if entry.token_type is not None and header.get("typ") not in _AT_JWT:
            raise refusal('The token must be an RFC 9068 access token (typ "at+jwt").')
        check_claims(entry, claims, now)  # before keys: no fetch for a dead token
        key = self._key(entry, header, now)
        if not _ALGORITHM_OBJECTS[header["alg"]].verify(parsed.signing_input, key.jwk.key,
                                                        parsed.signature):
            raise refusal("The signature does not verify with the issuer's key.")
        client = self.clients[entry.issuer]
        valid_until = claims["exp"] + entry.leeway
        if entry.jwks is None:  # never remembered past the keys' maximum staleness
            valid_until = min(valid_until, client.fetched_at + self._max_stale)
        return token_identity(entry, claims), valid_until

    def _introspected(self, credential: str, now: float) -> Identity:
        """RFC 7662: what the authorization server says of a token that is no JWT of ours."""
        if self.introspector is None:  # never: _Opaque is raised only with one
            raise refusal("The token's iss is not an issuer this server trusts.")
        answer = self.introspector.claims(credential, now)
        return introspected_identity(answer, self._issuers.get(answer.get("iss")))  # type: ignore[arg-type]

    def _key(self, entry: IssuerConfig, header: dict[str, Any], now: float) -> UsableKey:
        client = self.clients[entry.issuer]
        kid = header.get("kid")
        try:
            keys = client.key_set(now)
            if kid is None:
                if len(keys.usable) != 1:
                    raise refusal("The token has no kid, and its issuer publishes several keys.")
                key = keys.usable[0]
            else:
                found = keys.by_kid.get(kid)
                if found is None:  # a rotation, or junk: refetched at most once per cooldown
                    found = client.key_set(now, unknown_kid=True).by_kid.get(kid)
                if found is None:
                    raise refusal("The token's kid names no key its issuer publishes.")
                key = found
        except KeysUnavailable:
            raise refusal("The issuer's keys cannot be fetched right now, and no recent copy "
                          "is held.") from None
        check_key_agrees(key, header["alg"])
        return key

    def challenge(self, failure: AuthFailure | None) -> str:
        if self.dpop is not None and self._required:
            return self.dpop.challenge(failure, required=True)
        value = self._challenge
        if failure is not None and failure.required_scopes:
            value += f', scope="{" ".join(failure.required_scopes)}"'
        if failure is not None and failure.method == METHOD and failure.scheme is None:
            description = quoted_string_content(failure.developer_message)
            return value + f', error="invalid_token", error_description="{description}"'
        return value

    def more_challenges(self, failure: AuthFailure | None) -> tuple[str, ...]:
        """The DPoP challenge beside the Bearer one, when both are accepted (RFC 9449 7.1)."""
        if self.dpop is None or self._required:
            return ()
        return (self.dpop.challenge(failure, required=False),)

    def success_headers(self, identity: Identity, now: float) -> tuple[tuple[str, str], ...]:
        """Headers an accepted request's response carries: a fresh DPoP-Nonce, nonces on."""
        if self.dpop is None or identity.method != METHOD:
            return ()
        return self.dpop.success_headers(now)

    def scope_challenge(self, failure: AuthFailure) -> str:
        """The 403 challenge (RFC 6750 section 3.1, RFC 9728 section 5.1)."""
        return (f'{self._challenge}, error="insufficient_scope", '
                f'scope="{" ".join(failure.required_scopes)}"')


class _Opaque(Exception):  # noqa: N818 - a routing decision, never raised past verify
    """The token is no JWT of a configured issuer: introspection decides."""
