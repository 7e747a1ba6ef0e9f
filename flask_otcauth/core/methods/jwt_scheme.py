"""Verifying the OTC spec's HS256 bearer tokens (OTC 1.0, "JWT Bearer Token Authentication").

:mod:`..jose` parses the token strictly, once; PyJWT's HS256 algorithm checks the signature;
:mod:`..clock` judges the time claims (``jwt.decode``'s whole seconds, with a clock skew allowed
on ``iat``/``nbf``) without a second parse. This module adds what the spec and our decisions ask
beyond it: ``exp`` required, a cap on the lifetime, ``aud`` matched against the allowed clients
only when present, and the scopes of a token without ``scope`` or ``scp`` from
``OTC_AUTH_SCOPELESS_GRANTS``. :mod:`.jwt` declares the method around it (its keys, settings,
OpenAPI scheme, ``check`` lines and test headers).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any, Final

import jwt

from ..cache import VerifiedTokenCache
from ..clock import SkewWatch, TimeRules, offset
from ..dpop_binding import refuse_unproven
from ..identity import Identity
from ..jose import MAX_HEADER_LENGTH, parse_compact_jws
from ..refusals import INVALID_TOKEN, AuthFailure, OTCAuthConfigError
from ..scopes import SCOPELESS_GRANTS, ScopeError, scopes_from_claims
from .base import REALM, AuthRequest, quoted_string_content
from .jwt_mint import ALGORITHMS

MAX_TOKEN_LENGTH: Final = 8192
_ALGORITHMS: Final = frozenset(ALGORITHMS)
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
        tenant_claim: str | None = None,
        scopeless_grants: frozenset[str] = frozenset(),
    ) -> None:
        self._secrets = tuple(secrets)
        self._audiences = frozenset(audiences)
        self._require_audience = require_audience
        self._issuer = issuer
        self._time = TimeRules(max_lifetime=max_lifetime, leeway=leeway, skew=clock_skew)
        self._leeway = leeway
        self._scopeless_grants = frozenset(scopeless_grants)
        self._tenant_claim = tenant_claim
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
            refuse_unproven(identity)
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
            tenant=self._tenant(claims),
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
                          client=self._allowed_audience(claims),
                          tenant=self._tenant(claims)).rate_limit_key
        return INVALID_TOKEN.failure(hint, method=self.method, verified=True, caller=caller,
                                     skew=skew)

    def _tenant(self, claims: dict[str, Any]) -> str | None:
        """The tenant ``OTC_AUTH_TENANT_CLAIM`` names, set once here as the oauth issuers'
        ``tenant_claim`` is: every consumer (tenant isolation, budgets, revocation cut-offs,
        rate-limit keys) reads ``Identity.tenant`` alone."""
        value = claims.get(self._tenant_claim) if self._tenant_claim is not None else None
        return value if isinstance(value, str) and value else None

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
