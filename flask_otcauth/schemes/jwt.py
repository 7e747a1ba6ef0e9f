"""JWT bearer tokens signed with HS256 (OTC 1.0, "JWT Bearer Token Authentication").

:mod:`.jose` parses the token strictly, once; PyJWT's HS256 algorithm checks the signature; the
time claims follow ``jwt.decode``'s rules (whole seconds, leeway) without a second parse. This
module adds what the spec and our decisions ask beyond it: ``exp`` required, a ceiling on how
far ahead it may be, and ``aud`` matched against the allowed clients only when present.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any, Final

import jwt

from ..cache import VerifiedTokenCache
from ..exceptions import AuthFailure, OTCAuthConfigError, invalid_credential
from ..identity import Identity
from ..scopes import ScopeError, scopes_from_claims
from .base import REALM, AuthRequest
from .jose import MAX_HEADER_LENGTH, parse_compact_jws

MAX_TOKEN_LENGTH: Final = 8192
ALGORITHMS: Final = ["HS256"]
_ALGORITHMS: Final = frozenset(ALGORITHMS)
_CODE: Final = "invalid_token"
_MESSAGE: Final = "The bearer token is not valid."
_EXPIRED: Final = "The token has expired: mint a new one."
_IMMATURE: Final = "The token is not valid yet (nbf or iat is in the future)."
_MISSING_CLAIM: Final = ("The token lacks a required claim (exp, and iss or aud where the server "
                         "requires them).")


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
