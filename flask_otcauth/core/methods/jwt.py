"""JWT bearer tokens signed with HS256 (OTC 1.0, "JWT Bearer Token Authentication").

:mod:`..jose` parses the token strictly, once; PyJWT's HS256 algorithm checks the signature; the
time claims follow ``jwt.decode``'s rules (whole seconds, leeway) without a second parse. This
module adds what the spec and our decisions ask beyond it: ``exp`` required, a ceiling on how
far ahead it may be, and ``aud`` matched against the allowed clients only when present. It also
mints the tokens the server would accept, for ``flask otcauth mint-token`` and the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import jwt

from ..cache import VerifiedTokenCache
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
from ..identity import Identity, sha256
from ..jose import MAX_HEADER_LENGTH, parse_compact_jws
from ..refusals import INVALID_TOKEN, AuthFailure, OTCAuthConfigError
from ..scopes import ScopeError, checked_scopes, scopes_from_claims
from ..strength import strength
from .base import REALM, AuthMethod, AuthRequest, Report, SchemeObject, Setup, TestRequest

MAX_TOKEN_LENGTH: Final = 8192
ALGORITHMS: Final = ["HS256"]
_ALGORITHMS: Final = frozenset(ALGORITHMS)
_EXPIRED: Final = "The token has expired: mint a new one."
_IMMATURE: Final = "The token is not valid yet (nbf or iat is in the future)."
_MISSING_CLAIM: Final = ("The token lacks a required claim (exp, and iss or aud where the server "
                         "requires them).")
LARGE_LEEWAY_SECONDS: Final = 60
SPEC_MAX_LIFETIME: Final = 900


def _refusal(hint: str) -> AuthFailure:
    return INVALID_TOKEN.failure(hint, method="jwt")


class JwtScheme:
    """Accepts ``Authorization: Bearer <JWT>`` signed with one of the configured secrets."""

    method: Final = "jwt"
    credential_hint: Final = "Authorization: Bearer <JWT>"

    def __init__(
        self,
        secrets: Iterable[bytes],
        *,
        audiences: Iterable[str],
        require_audience: bool,
        issuer: str | None,
        max_lifetime: int,
        leeway: int,
    ) -> None:
        self._secrets = tuple(secrets)
        self._audiences = frozenset(audiences)
        self._require_audience = require_audience
        self._issuer = issuer
        self._max_lifetime = max_lifetime
        self._leeway = leeway
        # PyJWT's HS256 implementation, its keys prepared once: preparing (PyJWT refuses PEM,
        # SSH, DER and JWK-shaped secrets) costs more per call than the HMAC itself.
        self._algorithm = jwt.get_algorithm_by_name(ALGORITHMS[0])
        try:
            self._keys = tuple(self._algorithm.prepare_key(secret) for secret in self._secrets)
        except jwt.InvalidKeyError:
            raise OTCAuthConfigError("OTC_AUTH_JWT_SECRET holds something shaped like an "
                                     "asymmetric key or a JWK, which HS256 must not use as a "
                                     "secret; generate a random one.") from None
        self._verified = VerifiedTokenCache()

    def extract(self, request: AuthRequest) -> str | None:
        value = request.header("Authorization")
        if value is None:
            return None
        scheme, _, token = value.partition(" ")
        if len(scheme) == 6 and scheme.lower() == "bearer":  # case-insensitive (RFC 9110)
            return token.lstrip(" ")  # RFC 6750: "Bearer" 1*SP b64token
        if value.lstrip()[:6].lower() == "bearer":
            # Meant as a bearer token, but misspelt (a tab, a leading space, no space): refused,
            # never ignored, or an optional view would let its sender in as anonymous.
            raise _refusal("Send the token as Authorization: Bearer <JWT>, with one space.")
        return None  # another scheme (Basic, ...) is not a credential of ours

    def verify(self, credential: str, now: float) -> Identity:
        if len(credential) > MAX_TOKEN_LENGTH:  # before anything reads it, the cache included
            raise _refusal(f"The credential is longer than {MAX_TOKEN_LENGTH} characters.")
        if credential.find(".", 0, MAX_HEADER_LENGTH + 1) < 0:
            return self._verify_afresh(credential, now)  # no JWS: refused, not looked up
        remembered = self._verified.get(credential, now)
        if remembered is not None:
            return remembered  # this exact token verified before and has not expired since
        identity = self._verify_afresh(credential, now)
        self._verified.put(credential, identity.claims["exp"] + self._leeway, identity)
        return identity

    def _verify_afresh(self, credential: str, now: float) -> Identity:
        if not credential:
            raise _refusal("The credential header is empty.")
        # The compact form admits visible ASCII only: no space, comma or control character.
        # One spelling, one meaning, or 401; the claims parsed there are the ones used here.
        parsed = parse_compact_jws(credential, algorithms=_ALGORITHMS)
        self._check_signature(parsed.signing_input, parsed.signature)
        claims = parsed.claims
        self._check_time_and_issuer(claims, now)
        if claims["exp"] > now + self._max_lifetime + self._leeway:
            raise _refusal(f"The token's exp is more than {self._max_lifetime} s ahead: mint "
                           "shorter-lived tokens.")
        try:
            scopes = scopes_from_claims(claims)
        except ScopeError:
            raise _refusal("The token's scope must be a space-separated string (or scp a list) "
                           "of RFC 6749 scope tokens.") from None
        return Identity(
            method=self.method,
            subject=claims.get("sub"),
            client=self._matched_audience(claims),
            claims=MappingProxyType(claims),
            scopes=scopes,
        )

    def challenge(self, failure: AuthFailure | None) -> str:
        if failure is None or failure.method != self.method:
            return f'Bearer realm="{REALM}"'
        return (f'Bearer realm="{REALM}", error="invalid_token", '
                f'error_description="{failure.developer_message}"')

    def _check_signature(self, signing_input: bytes, signature: bytes) -> None:
        """PyJWT's HMAC check with each secret in rotation; the token's shape is already known."""
        for key in self._keys:  # the current secret first, then older ones still in rotation
            if self._algorithm.verify(signing_input, key, signature):
                return
        raise _refusal("The signature does not verify with the server's secret.")

    def _check_time_and_issuer(self, claims: dict[str, Any], now: float) -> None:
        """The registered-claim rules of ``jwt.decode``, on claims whose types are checked.

        As PyJWT does them (whole seconds, the same leeway), so a token is accepted or refused
        exactly as before, without parsing it a second time.
        """
        if claims.get("exp") is None or (self._issuer is not None and claims.get("iss") is None):
            raise _refusal(_MISSING_CLAIM)
        if "iat" in claims and int(claims["iat"]) > now + self._leeway:
            raise _refusal(_IMMATURE)
        if "nbf" in claims and int(claims["nbf"]) > now + self._leeway:
            raise _refusal(_IMMATURE)
        if int(claims["exp"]) <= now - self._leeway:
            raise _refusal(_EXPIRED)
        if self._issuer is not None and claims["iss"] != self._issuer:
            raise _refusal("The token's iss is not the issuer this server trusts.")

    def _matched_audience(self, claims: dict[str, Any]) -> str | None:
        """The allowed client the token names; RFC 7519: one match among its values suffices."""
        if "aud" not in claims:
            if self._require_audience:
                raise _refusal("The token must carry aud naming an allowed client.")
            return None
        audience: object = claims["aud"]
        values: list[object] = [audience] if isinstance(audience, str) else (
            audience if isinstance(audience, list) else [None])
        if not all(isinstance(value, str) for value in values):
            raise _refusal("The token's aud must be a string or a list of strings.")
        for value in values:
            if value in self._audiences:
                return str(value)
        raise _refusal("The token's aud names no client this server allows.")


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
    "Seconds: a token whose exp is further ahead than this (plus leeway) is rejected.",
    type="int (seconds, >= 1)", example=300, wrong="Not a whole number >= 1.", bad_example=0,
    parse=seconds(1))
LEEWAY_KEY: Final = ConfigKey(
    "OTC_AUTH_JWT_LEEWAY", 0, "Seconds of clock skew allowed on exp/nbf/iat (0-300).",
    type="int (seconds, 0-300)", example=5,
    wrong="Not a whole number, negative, or over 300 (fix the clocks instead).",
    bad_example=600, parse=leeway)


@dataclass(frozen=True, slots=True)
class JwtSettings:
    secrets: tuple[bytes, ...]
    audiences: tuple[str, ...]
    require_audience: bool
    issuer: str | None
    max_lifetime: int
    leeway: int


class JwtMethod(AuthMethod[JwtSettings]):
    """``jwt``: the OTC spec's HS256 bearer token."""

    name = "jwt"
    keys = (SECRET_KEY, AUDIENCES_KEY, REQUIRE_AUDIENCE_KEY, ISSUER_KEY, MAX_LIFETIME_KEY,
            LEEWAY_KEY)
    refusals = (INVALID_TOKEN,)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> JwtSettings:
        return JwtSettings(values(SECRET_KEY), values(AUDIENCES_KEY),
                           values(REQUIRE_AUDIENCE_KEY), values(ISSUER_KEY),
                           values(MAX_LIFETIME_KEY), values(LEEWAY_KEY))

    def check_enabled(self, settings: JwtSettings, context: Mapping[str, Any]) -> None:
        if not settings.secrets:
            raise OTCAuthConfigError(
                'OTC_AUTH_METHODS enables "jwt" but OTC_AUTH_JWT_SECRET is not set: set it '
                f'({SECRET_HINT}), or remove "jwt" from OTC_AUTH_METHODS.')

    def secrets(self, settings: JwtSettings) -> Iterable[tuple[str, bytes]]:
        return (("OTC_AUTH_JWT_SECRET", sha256(secret)) for secret in settings.secrets)

    def build(self, settings: JwtSettings, setup: Setup) -> JwtScheme:
        return JwtScheme(settings.secrets, audiences=settings.audiences,
                         require_audience=settings.require_audience, issuer=settings.issuer,
                         max_lifetime=settings.max_lifetime, leeway=settings.leeway)

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
                "with the shared secret using HS256. The `exp` claim is required and may be at "
                f"most {settings.max_lifetime} seconds in the future. {audience} Missing, "
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
            + f", max lifetime {settings.max_lifetime} s, leeway {settings.leeway} s")
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
        return {"Authorization": "Bearer " + mint_token(settings, now=time.time(), ttl=ttl,
                                                        **claims)}


class MintError(ValueError):
    """The token asked for would be refused by the server (or cannot be signed at all)."""


def mint_token(
    settings: JwtSettings,
    *,
    now: float,
    ttl: int = 300,
    scopes: Iterable[str] | None = None,
    **claims: Any,
) -> str:
    """An HS256 token signed with the first (current) ``OTC_AUTH_JWT_SECRET``.

    Refuses anything the server itself would refuse rather than produce a token that only
    fails later. ``exp`` is ``now + ttl``; ``aud`` defaults to the first allowed client and
    ``iss`` to the configured issuer; ``scopes`` become the space-separated ``scope`` claim.
    Other ``claims`` are added as given (``sub``, ``jti``, ...).
    """
    if not settings.secrets:
        raise MintError("OTC_AUTH_JWT_SECRET is not set: there is no secret to sign with.")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise MintError(f"ttl must be a whole number of seconds >= 1, got {ttl!r}.")
    if ttl > settings.max_lifetime:
        raise MintError(f"ttl {ttl} s is above OTC_AUTH_JWT_MAX_LIFETIME "
                        f"({settings.max_lifetime} s): the server would refuse the token.")
    payload: dict[str, Any] = {"iat": int(now), "exp": int(now) + ttl}
    if settings.audiences:
        payload["aud"] = settings.audiences[0]
    if settings.issuer is not None:
        payload["iss"] = settings.issuer
    if scopes is not None:
        try:
            payload["scope"] = " ".join(sorted(checked_scopes(scopes)))
        except ValueError as error:
            raise MintError(str(error)) from None
    payload.update(claims)
    _refuse_foreign_audience(settings, payload)
    return jwt.encode(payload, settings.secrets[0], algorithm=ALGORITHMS[0])


def _refuse_foreign_audience(settings: JwtSettings, payload: Mapping[str, Any]) -> None:
    audience = payload.get("aud")
    if audience is None:
        if settings.require_audience:
            raise MintError("OTC_AUTH_JWT_REQUIRE_AUDIENCE is on: give an aud.")
        return
    values = [audience] if isinstance(audience, str) else list(audience)
    if not any(value in settings.audiences for value in values):
        allowed = ", ".join(settings.audiences) or "none configured"
        raise MintError(f"aud {audience!r} is not an allowed client ({allowed}): the server "
                        "would refuse the token.")


JWT: Final = JwtMethod()
