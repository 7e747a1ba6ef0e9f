"""OAuth 2.1 access tokens from an identity provider: asymmetric JWTs over its JWKS (RFC 9068).

The server is a resource server (RFC 9728): it trusts the issuers it is configured with, takes
each one's keys from :mod:`..jwks`, and checks a token as the OTC tokens are checked (the
strict parsing of :mod:`..jose`, ``exp`` required) plus what an access token needs. This module
declares the method (its keys, settings, OpenAPI scheme, ``check`` lines and test headers);
:mod:`.oauth_scheme` does the work on each request, :mod:`.oauth_claims` holds the claim rules
and :mod:`.oauth_config` the settings' parsers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ..config_keys import ConfigKey
from ..dpop_binding import describe_dpop
from ..dpop_config import KEYS as DPOP_KEYS
from ..dpop_config import dpop_settings
from ..jwks_report import describe_issuer
from ..mtls_binding import CertificateBoundScheme
from ..refusals import (
    INVALID_DPOP_PROOF,
    INVALID_TOKEN,
    TEMPORARILY_UNAVAILABLE,
    USE_DPOP_NONCE,
    OTCAuthConfigError,
)
from .base import AuthMethod, Report, Scheme, SchemeObject, Setup, TestRequest
from .mtls_config import BOUND_TOKENS_KEY, read_source
from .oauth_claims import METHOD
from .oauth_config import (
    HTTP_TIMEOUT_KEY,
    INTROSPECTION_KEY,
    ISSUERS_KEY,
    JWKS_COOLDOWN_KEY,
    JWKS_MAX_STALE_KEY,
    JWKS_PREFETCH_KEY,
    JWKS_TTL_KEY,
    KEYS,
    RESOURCE_KEY,
    SCOPES_SUPPORTED_KEY,
    issuers,
)
from .oauth_scheme import METADATA_PATH, OAuthScheme, OAuthSettings, metadata_paths, metadata_url

__all__ = ["METADATA_PATH", "METHOD", "OAUTH", "OAuthMethod", "OAuthScheme", "OAuthSettings",
           "metadata_paths", "metadata_url"]


class OAuthMethod(AuthMethod[OAuthSettings]):
    """``oauth``: OAuth 2.1 access tokens (JWT) from configured identity providers."""

    name = METHOD
    keys = (*KEYS, *DPOP_KEYS)
    refusals = (INVALID_TOKEN, TEMPORARILY_UNAVAILABLE, INVALID_DPOP_PROOF, USE_DPOP_NONCE)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> OAuthSettings:
        resource = values(RESOURCE_KEY)
        return OAuthSettings(
            resource, issuers(values(ISSUERS_KEY), ISSUERS_KEY.name, resource),
            values(SCOPES_SUPPORTED_KEY), values(JWKS_TTL_KEY), values(JWKS_COOLDOWN_KEY),
            values(JWKS_MAX_STALE_KEY), values(HTTP_TIMEOUT_KEY), values(INTROSPECTION_KEY),
            values(JWKS_PREFETCH_KEY), dpop_settings(values).for_method(METHOD),
            read_source(values),
            values(BOUND_TOKENS_KEY))

    def secrets(self, settings: OAuthSettings) -> Iterable[tuple[str, bytes]]:
        secret = settings.dpop.nonce_secret
        if secret is not None:
            yield "OTC_AUTH_DPOP_NONCE_SECRET", hashlib.sha256(secret).digest()

    def check_enabled(self, settings: OAuthSettings, context: Mapping[str, Any]) -> None:
        if settings.resource is None:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "oauth" but '
                                     "OTC_AUTH_OAUTH_RESOURCE is not set: set it to this "
                                     'server\'s canonical URL, such as "https://tools.example.com".')
        if not settings.issuers:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "oauth" but '
                                     "OTC_AUTH_OAUTH_ISSUERS is empty: list the identity "
                                     "providers whose tokens this server accepts.")

    def build(self, settings: OAuthSettings, setup: Setup) -> Scheme:
        return CertificateBoundScheme(OAuthScheme(settings, setup.storage),
                                      settings.certificate_source)

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
                            f"{settings.jwks_max_stale} s, per worker"
                            + ("; fetched at start and refreshed in the background"
                               if settings.jwks_prefetch else ""))
        for entry in settings.issuers:  # fetched now, as a worker would, with a short timeout
            describe_issuer(report, issuer=entry.issuer, jwks_uri=entry.jwks_uri,
                            jwks=entry.jwks, ttl=settings.jwks_ttl,
                            cooldown=settings.jwks_cooldown, timeout=settings.http_timeout)
        describe_dpop(METHOD, settings.dpop, report)
        introspection = settings.introspection
        if introspection is not None:
            assertion = introspection.private_key_jwt
            report.lines.append(
                f"oauth: other tokens introspected at {introspection.endpoint} "
                f"(RFC 7662) as client {introspection.client_id} ("
                + ("client_secret_basic" if assertion is None else
                   f"private_key_jwt {assertion.algorithm}, aud {assertion.audience}")
                + f"), active answers kept up to {introspection.cache_ttl} s in "
                f"{report.storage_uri}")

    def test_headers(self, settings: OAuthSettings, request: TestRequest) -> dict[str, str]:
        token = request.options.get("token")
        if not isinstance(token, str):
            raise ValueError("oauth needs token=...: mint one with the plugin's "
                             "otc_oauth_issuer.make_token(...) (make_oauth_token); "
                             "dpop_key=DPoPKey(...) sends it with a DPoP proof.")
        key = request.options.get("dpop_key")  # a flask_otcauth.client.DPoPKey: its proof
        if key is not None:
            return dict(key.headers(request.method, request.url, token))
        return {"Authorization": f"Bearer {token}"}


OAUTH: Final = OAuthMethod()
