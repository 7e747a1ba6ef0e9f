"""JWT bearer tokens signed with HS256 (OTC 1.0, "JWT Bearer Token Authentication").

:mod:`..jose` parses the token strictly, once; PyJWT's HS256 algorithm checks the signature;
:mod:`..clock` judges the time claims (``jwt.decode``'s whole seconds, with a clock skew allowed
on ``iat``/``nbf``) without a second parse. This module adds what the spec and our decisions ask
beyond it: ``exp`` required, a cap on the lifetime, ``aud`` matched against the allowed clients
only when present, and the scopes of a token without ``scope`` or ``scp`` from
``OTC_AUTH_SCOPELESS_GRANTS``. It also mints the tokens the server would accept, for
``flask otcauth mint-token`` and the tests (:mod:`.jwt_mint`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import jwt

from ..cache import VerifiedTokenCache
from ..clock import SkewWatch, TimeRules, offset
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
from ..dpop_binding import DPoPBoundScheme, describe_dpop, unproven_refusal
from ..dpop_config import DPoPSettings, dpop_settings
from ..identity import Identity, sha256
from ..jose import MAX_HEADER_LENGTH, parse_compact_jws
from ..refusals import (
    INVALID_DPOP_PROOF,
    INVALID_TOKEN,
    USE_DPOP_NONCE,
    AuthFailure,
    OTCAuthConfigError,
)
from ..scopes import SCOPELESS_GRANTS, ScopeError, scopes_from_claims
from ..strength import strength
from .base import (
    REALM,
    AuthMethod,
    AuthRequest,
    Report,
    Scheme,
    SchemeObject,
    Setup,
    TestRequest,
    quoted_string_content,
)
from .jwt_mint import ALGORITHMS, MintError, mint_token

MAX_TOKEN_LENGTH: Final = 8192
_ALGORITHMS: Final = frozenset(ALGORITHMS)
LARGE_LEEWAY_SECONDS: Final = 60
SPEC_MAX_LIFETIME: Final = 900
DEFAULT_CLOCK_SKEW: Final = 60


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
        clock_skew: int = DEFAULT_CLOCK_SKEW,
        scopeless_grants: frozenset[str] = frozenset(),
    ) -> None:
        self._secrets = tuple(secrets)
        self._audiences = frozenset(audiences)
        self._require_audience = require_audience
        self._issuer = issuer
        self._time = TimeRules(max_lifetime=max_lifetime, leeway=leeway, skew=clock_skew)
        self._leeway = leeway
        self._scopeless_grants = frozenset(scopeless_grants)
        self._skew_watch = SkewWatch()
        self._skew_threshold = self._skew_watch.threshold
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
        identity = self.token_identity(credential, now)
        if "cnf" in identity.claims:  # bound by cnf.jkt: never as Bearer (RFC 9449 7.2)
            refused = unproven_refusal(identity)
            if refused is not None:
                raise refused
        return identity

    def token_identity(self, credential: str, now: float) -> Identity:
        """What the token itself proves, whichever way it was presented (Bearer or DPoP)."""
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
        # From here on the token is the secret holder's: a refusal is charged to its caller's
        # budget, never counted as a guess against the address (Gate).
        claims = parsed.claims
        if "exp" not in claims or (self._issuer is not None and "iss" not in claims):
            raise self._missing_claim(claims)
        issued = claims.get("iat", claims.get("nbf"))
        if issued is not None and issued > now + self._skew_threshold:
            self._skew_watch.observe(self._client_name(claims), offset(issued, now))
        problem = self._time.problem(claims, now)
        if problem is not None:
            raise self._verified_refusal(claims, problem[0], skew=problem[1])
        if self._issuer is not None and claims["iss"] != self._issuer:
            raise self._verified_refusal(claims, "The token's iss is not the issuer this "
                                         "server trusts.")
        try:
            scopes = scopes_from_claims(claims)
        except ScopeError:
            raise self._verified_refusal(
                claims, "The token's scope must be a space-separated string (or scp a list) of "
                "RFC 6749 scope tokens.") from None
        if scopes is None:
            scopes, source = self._scopeless_grants, SCOPELESS_GRANTS
        else:
            source = "the token's scope claim" if "scope" in claims else "the token's scp claim"
        return Identity(
            method=self.method,
            subject=claims.get("sub"),
            client=self._matched_audience(claims),
            claims=MappingProxyType(claims),
            scopes=scopes,
            scope_source=source,
        )

    def challenge(self, failure: AuthFailure | None) -> str:
        if failure is None or failure.method != self.method or failure.scheme is not None:
            return f'Bearer realm="{REALM}"'
        return (f'Bearer realm="{REALM}", error="invalid_token", '
                f'error_description="{quoted_string_content(failure.developer_message)}"')

    def _check_signature(self, signing_input: bytes, signature: bytes) -> None:
        """PyJWT's HMAC check with each secret in rotation; the token's shape is already known."""
        for key in self._keys:  # the current secret first, then older ones still in rotation
            if self._algorithm.verify(signing_input, key, signature):
                return
        raise _refusal("The signature does not verify with the server's secret.")

    def _missing_claim(self, claims: dict[str, Any]) -> AuthFailure:
        """``exp`` is required always (the spec: MUST), ``iss`` when an issuer is set; named."""
        if "exp" not in claims:
            return self._verified_refusal(claims, "The token lacks the exp claim, which this "
                                          "server requires (the OTC spec: MUST).")
        return self._verified_refusal(claims, "The token lacks the iss claim, which this "
                                      "server requires (OTC_AUTH_JWT_ISSUER is set).")

    def _verified_refusal(self, claims: dict[str, Any], hint: str, *,
                          skew: float | None = None) -> AuthFailure:
        """The refusal of a token whose signature verified: named by its caller."""
        caller = Identity(method=self.method, subject=claims.get("sub"),
                          client=self._allowed_audience(claims)).rate_limit_key
        return INVALID_TOKEN.failure(hint, method=self.method, verified=True, caller=caller,
                                     skew=skew)

    def _client_name(self, claims: dict[str, Any]) -> str | None:
        """Who mints a token, for the operator's log: its allowed aud, else its sub."""
        audience = self._allowed_audience(claims)
        return audience if audience is not None else claims.get("sub")

    def _allowed_audience(self, claims: dict[str, Any]) -> str | None:
        """The first allowed client ``aud`` names (RFC 7519: one match among its values
        suffices), or ``None``; :mod:`..jose` has checked it is a string or a list of them."""
        audience = claims.get("aud")
        for value in [audience] if isinstance(audience, str) else audience or ():
            if value in self._audiences:
                return str(value)
        return None

    def _matched_audience(self, claims: dict[str, Any]) -> str | None:
        """The allowed client the token names, ``None`` without aud, or the refusal."""
        if "aud" not in claims:
            if self._require_audience:
                raise self._verified_refusal(claims, "The token lacks the aud claim, which "
                                             "this server requires "
                                             "(OTC_AUTH_JWT_REQUIRE_AUDIENCE is on).")
            return None
        audience = self._allowed_audience(claims)
        if audience is None:
            raise self._verified_refusal(claims, "The token's aud names no client this "
                                         "server allows.")
        return audience


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


class JwtMethod(AuthMethod[JwtSettings]):
    """``jwt``: the OTC spec's HS256 bearer token."""

    name = "jwt"
    keys = (SECRET_KEY, AUDIENCES_KEY, REQUIRE_AUDIENCE_KEY, ISSUER_KEY, MAX_LIFETIME_KEY,
            LEEWAY_KEY, CLOCK_SKEW_KEY)
    refusals = (INVALID_TOKEN, INVALID_DPOP_PROOF, USE_DPOP_NONCE)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> JwtSettings:
        return JwtSettings(values(SECRET_KEY), values(AUDIENCES_KEY),
                           values(REQUIRE_AUDIENCE_KEY), values(ISSUER_KEY),
                           values(MAX_LIFETIME_KEY), values(LEEWAY_KEY),
                           values(CLOCK_SKEW_KEY), dpop_settings(values).for_method(self.name))

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
                           scopeless_grants=setup.scopeless_grants or frozenset())
        if not settings.dpop.enabled:
            return scheme
        return DPoPBoundScheme(scheme, settings.dpop, setup.storage,
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


__all__ = ["ALGORITHMS", "JWT", "JwtMethod", "JwtScheme", "JwtSettings", "MintError",
           "mint_token"]

JWT: Final = JwtMethod()
