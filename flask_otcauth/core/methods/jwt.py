"""JWT bearer tokens signed with HS256 (OTC 1.0, "JWT Bearer Token Authentication").

This module declares the method: its keys (the secrets in rotation, the allowed clients, the
issuer and the time limits), its settings, OpenAPI scheme, ``check`` lines and test headers.
:mod:`.jwt_scheme` verifies each request's token; :mod:`.jwt_mint` mints the tokens the server
would accept, for ``flask otcauth mint-token`` and the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..config_keys import (
    SECRET_EXAMPLE,
    SECRET_HINT,
    ConfigKey,
    boolean,
    leeway,
    listed,
    optional_string,
    seconds,
    secret_bytes,
    strings,
)
from ..dpop_binding import describe_dpop, with_dpop
from ..dpop_config import DPoPSettings, dpop_settings
from ..identity import sha256
from ..refusals import INVALID_DPOP_PROOF, INVALID_TOKEN, USE_DPOP_NONCE, OTCAuthConfigError
from ..strength import strength
from .base import AuthMethod, Report, Scheme, SchemeObject, Setup, TestRequest
from .jwt_mint import ALGORITHMS, MintError, mint_token
from .jwt_scheme import DEFAULT_CLOCK_SKEW, MAX_TOKEN_LENGTH, JwtScheme

LARGE_LEEWAY_SECONDS: Final = 60
SPEC_MAX_LIFETIME: Final = 900


def _secrets(value: Any, name: str) -> tuple[bytes, ...]:
    if value is None:
        return ()
    entries = listed(value, name) if not isinstance(value, bytes) else (value,)
    lone = isinstance(value, (str, bytes))
    return tuple(secret_bytes(entry, name if lone else f"{name}[{index}]", "HS256 secrets")
                 for index, entry in enumerate(entries))


SECRET_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_SECRET", None,
    "HS256 secret (>= 32 bytes), or a list: the first signs, all verify (rotation).",
    type="str | bytes | list[str | bytes] | None",
    example=[SECRET_EXAMPLE, "the-previous-secret-kept-until-its-tokens-expire"],
    wrong="A secret (or a rotation entry) that is not a string, is shorter than 32 bytes or, "
          'while "jwt" is enabled, is shaped like an asymmetric key or a JWK (PEM, SSH or DER '
          "key material, a JSON key object), which HS256 must not use as a secret; or none "
          'while "jwt" is enabled.',
    bad_example="short-secret", parse=_secrets)
AUDIENCES_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_AUDIENCES", [],
    "The allowed client list: a token's aud must name at least one of these.",
    type="list[str]", example=["my-agent-platform"],
    wrong="Not a list of non-empty strings.", bad_example=["my-agent-platform", ""],
    parse=strings)
REQUIRE_AUDIENCE_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_REQUIRE_AUDIENCE", False, "Reject tokens without aud.",
    type="bool", example=True, wrong="Not true or false.", bad_example="yes", parse=boolean)
ISSUER_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_ISSUER", None, "When set, iss is required and must match exactly.",
    type="str | None", example="https://platform.example.com",
    wrong="An empty string or not a string.", bad_example="", parse=optional_string)
MAX_LIFETIME_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_MAX_LIFETIME", 900,
    "Seconds a token may live: exp - iat at most this; a token without iat may have exp at "
    "most this (plus OTC_AUTH_JWT_CLOCK_SKEW) ahead of the server's clock.",
    type="int (seconds, >= 1)", example=300, wrong="Not a whole number >= 1.", bad_example=0,
    parse=seconds(1))
LEEWAY_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_LEEWAY", 0,
    "Seconds a token is still accepted after its exp (0-300); 0: refused from exp on.",
    type="int (seconds, 0-300)", example=5,
    wrong="Not a whole number, negative, or over 300 (fix the clocks instead).",
    bad_example=600, parse=leeway)
CLOCK_SKEW_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_CLOCK_SKEW", DEFAULT_CLOCK_SKEW,
    "Seconds a token's iat and nbf may be ahead of the server's clock (0-300), so a "
    "platform whose clock runs fast is not refused; exp stays strict.",
    type="int (seconds, 0-300)", example=30,
    wrong="Not a whole number, negative, or over 300 (fix the clocks instead).",
    bad_example=301, parse=leeway)
TENANT_CLAIM_KEY: Final = ConfigKey(
    "OTC_AUTH_TENANT_CLAIM", None,
    "The claim naming a jwt token's tenant (oauth issuers name theirs with tenant_claim; key "
    "records with tenant). A token bound to a tenant reaches only that tenant's "
    "tenant-scoped views, spends that tenant's budget and falls under its revocation "
    "cut-offs. None: jwt tokens have no tenant.",
    type="str | None (a claim name)", example="tenant",
    wrong="Not a non-empty string or None.", bad_example=["tenant"], parse=optional_string)


@dataclass(frozen=True, slots=True)
class JwtSettings:
    secrets: tuple[bytes, ...]
    audiences: tuple[str, ...]
    require_audience: bool
    issuer: str | None
    max_lifetime: int
    leeway: int
    clock_skew: int = DEFAULT_CLOCK_SKEW
    dpop: DPoPSettings = field(default_factory=DPoPSettings)
    tenant_claim: str | None = None


class JwtMethod(AuthMethod[JwtSettings]):
    """``jwt``: the OTC spec's HS256 bearer token."""

    name = "jwt"
    keys = (SECRET_KEY, AUDIENCES_KEY, REQUIRE_AUDIENCE_KEY, ISSUER_KEY, MAX_LIFETIME_KEY,
            LEEWAY_KEY, CLOCK_SKEW_KEY, TENANT_CLAIM_KEY)
    refusals = (INVALID_TOKEN, INVALID_DPOP_PROOF, USE_DPOP_NONCE)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> JwtSettings:
        return JwtSettings(values(SECRET_KEY), values(AUDIENCES_KEY),
                           values(REQUIRE_AUDIENCE_KEY), values(ISSUER_KEY),
                           values(MAX_LIFETIME_KEY), values(LEEWAY_KEY),
                           values(CLOCK_SKEW_KEY), dpop_settings(values).for_method(self.name),
                           values(TENANT_CLAIM_KEY))

    def check_enabled(self, settings: JwtSettings, context: Mapping[str, Any]) -> None:
        if not settings.secrets:
            raise OTCAuthConfigError(
                'OTC_AUTH_METHODS enables "jwt" but OTC_AUTH_JWT_SECRET is not set: set it '
                f'({SECRET_HINT}), or remove "jwt" from OTC_AUTH_METHODS.')

    def secrets(self, settings: JwtSettings) -> Iterable[tuple[str, bytes]]:
        return (("OTC_AUTH_JWT_SECRET", sha256(secret)) for secret in settings.secrets)

    def build(self, settings: JwtSettings, setup: Setup) -> Scheme:
        scheme = JwtScheme(settings.secrets, audiences=settings.audiences,
                           require_audience=settings.require_audience, issuer=settings.issuer,
                           max_lifetime=settings.max_lifetime, leeway=settings.leeway,
                           clock_skew=settings.clock_skew,
                           tenant_claim=settings.tenant_claim,
                           scopeless_grants=setup.scopeless_grants or frozenset())
        return with_dpop(scheme, settings.dpop, setup.storage,
                         identity_of=scheme.token_identity, token_of=str)

    def security_scheme(self, settings: JwtSettings) -> SchemeObject:
        audience = ("`aud` is required and must name one of the allowed clients."
                    if settings.require_audience
                    else "When present, `aud` must name one of the allowed clients.")
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "OTC JWT bearer token authentication: `Authorization: Bearer <JWT>`, signed "
                "with the shared secret using HS256. The `exp` claim is required; a token may "
                f"live at most {settings.max_lifetime} seconds (exp - iat), and `iat`/`nbf` may "
                f"be up to {settings.clock_skew} seconds ahead of the server's clock. "
                f"{audience} Missing, "
                "invalid or expired tokens are rejected with 401 Unauthorized."
            ),
        }

    def describe(self, settings: JwtSettings, report: Report) -> None:
        lengths = ", ".join(str(len(secret)) for secret in settings.secrets)
        report.lines.append(
            f"jwt: HS256, {len(settings.secrets)} secret(s) of {lengths} bytes (the first "
            "signs), audiences: " + (", ".join(settings.audiences) or "(none)")
            + f", aud required: {settings.require_audience}, issuer: "
            + (settings.issuer or "(any)")
            + f", max lifetime {settings.max_lifetime} s, leeway {settings.leeway} s, clock "
            f"skew {settings.clock_skew} s")
        describe_dpop(self.name, settings.dpop, report)
        if settings.leeway > LARGE_LEEWAY_SECONDS:
            report.warnings.append(f"OTC_AUTH_JWT_LEEWAY is {settings.leeway} s: expired tokens "
                                   "stay usable that long; fix the clocks (NTP) and lower it.")
        if settings.max_lifetime > SPEC_MAX_LIFETIME:
            report.warnings.append(f"OTC_AUTH_JWT_MAX_LIFETIME is {settings.max_lifetime} s; "
                                   f"the OTC spec allows at most {SPEC_MAX_LIFETIME} s.")
        if not settings.audiences:
            # Refused, and kept refused: the spec says a server MUST check aud against the
            # allowed client list, and the spec's own tokens carry aud.
            report.warnings.append(
                "OTC_AUTH_JWT_AUDIENCES is empty: every token that carries aud is refused "
                "(401 invalid_token, \"aud names no client this server allows\"), as the OTC "
                "spec requires, and spec platforms (the oxp client, Node's jsonwebtoken with "
                "audience) send aud: list the client ids your platforms put in it."
                + (" With OTC_AUTH_JWT_REQUIRE_AUDIENCE on, no token at all can authenticate."
                   if settings.require_audience else ""))
        lone = len(settings.secrets) == 1
        for index, secret in enumerate(settings.secrets):
            estimate = strength(secret)
            if estimate.weak:
                where = "OTC_AUTH_JWT_SECRET" + ("" if lone else f"[{index}]")
                report.warnings.append(f"{where} {estimate.describe()}: anyone who guesses it "
                                       f"mints tokens; replace it ({SECRET_HINT}).")

    def test_headers(self, settings: JwtSettings, request: TestRequest) -> dict[str, str]:
        claims = dict(request.options)
        ttl = claims.pop("ttl", 300)
        key = claims.pop("dpop_key", None)  # a flask_otcauth.client.DPoPKey: bound, proven
        if key is not None:
            token = mint_token(settings, now=time.time(), ttl=ttl,
                               cnf={"jkt": key.thumbprint}, **claims)
            return dict(key.headers(request.method, request.url, token))
        return {"Authorization": "Bearer " + mint_token(settings, now=time.time(), ttl=ttl,
                                                        **claims)}


__all__ = ["ALGORITHMS", "JWT", "MAX_TOKEN_LENGTH", "JwtMethod", "JwtScheme", "JwtSettings",
           "MintError", "mint_token"]

JWT: Final = JwtMethod()
