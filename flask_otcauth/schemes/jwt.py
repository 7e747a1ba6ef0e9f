"""JWT bearer tokens signed with HS256 (OTC 1.0, "JWT Bearer Token Authentication").

PyJWT checks the signature and the time claims; this module adds what the spec and our
decisions ask beyond it: ``exp`` required and numeric, a ceiling on how far ahead it may be,
and ``aud`` matched against the allowed clients only when present (PyJWT would demand it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any, Final

import jwt

from ..cache import VerifiedTokenCache
from ..exceptions import AuthFailure, invalid_credential
from ..identity import Identity
from ..scopes import ScopeError, scopes_from_claims
from .base import REALM, AuthRequest, checked_header_value
from .jose import check_compact_jws

MAX_TOKEN_LENGTH: Final = 8192
ALGORITHMS: Final = ["HS256"]
_CODE: Final = "invalid_token"
_MESSAGE: Final = "The bearer token is not valid."
_BEARER = re.compile(r"bearer", re.IGNORECASE)
# What each PyJWT refusal means to whoever is debugging a client; never PyJWT's own text,
# which can quote parts of the input.
_HINTS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "The token has expired: mint a new one."),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf or iat is in the future)."),
    (jwt.InvalidAlgorithmError, "The token must be signed with HS256."),
    (jwt.MissingRequiredClaimError, "The token lacks a required claim (exp, and iss or aud "
                                    "where the server requires them)."),
    (jwt.InvalidIssuerError, "The token's iss is not the issuer this server trusts."),
    (jwt.exceptions.InvalidSubjectError, "The token's sub must be a string."),
    (jwt.exceptions.InvalidJTIError, "The token's jti must be a string."),
    (jwt.InvalidIssuedAtError, "The token's iat must be a number."),
    (jwt.DecodeError, "The token is not a well-formed JWS compact serialization."),
)


def _refusal(hint: str) -> AuthFailure:
    return invalid_credential("jwt", _CODE, _MESSAGE, hint)


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
        required = ["exp"] + (["iss"] if issuer is not None else [])
        # aud is ours to check: PyJWT would refuse a token without aud whenever audiences exist.
        self._options: Any = {"require": required, "verify_aud": False}
        self._decoder = jwt.PyJWT()
        self._verified = VerifiedTokenCache()

    def extract(self, request: AuthRequest) -> str | None:
        value = request.header("Authorization")
        if value is None:
            return None
        scheme, _, token = value.partition(" ")
        if _BEARER.fullmatch(scheme) is None:
            return None  # another scheme (Basic, ...) is not a credential of ours
        return token.lstrip(" ")

    def verify(self, credential: str, now: float) -> Identity:
        remembered = self._verified.get(credential, now)
        if remembered is not None:
            return remembered  # this exact token verified before and has not expired since
        identity = self._verify_afresh(credential, now)
        self._verified.put(credential, identity.claims["exp"] + self._leeway, identity)
        return identity

    def _verify_afresh(self, credential: str, now: float) -> Identity:
        token = checked_header_value(credential, method=self.method, code=_CODE, message=_MESSAGE,
                                     max_length=MAX_TOKEN_LENGTH)
        check_compact_jws(token, algorithms=ALGORITHMS)  # one spelling, one meaning, or 401
        claims = self._decode(token)
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

    def _decode(self, token: str) -> dict[str, Any]:
        for secret in self._secrets:
            try:
                claims: dict[str, Any] = self._decoder.decode(
                    token, secret, algorithms=ALGORITHMS, options=self._options,
                    issuer=self._issuer, leeway=self._leeway,
                )
            except jwt.InvalidSignatureError:
                continue  # maybe signed with an older secret still in rotation
            except jwt.PyJWTError as error:
                raise _refusal(_hint(error)) from None
            return claims
        raise _refusal("The signature does not verify with the server's secret.")

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


def _hint(error: jwt.PyJWTError) -> str:
    for kind, hint in _HINTS:
        if isinstance(error, kind):
            return hint
    return "The token could not be verified."
