"""What an OAuth access token's claims and key must be, once its issuer is known (RFC 9068).

Kept apart from the scheme so the rules read in one place: the time claims against the issuer's
allowances (``exp`` strict but for ``leeway``, ``iat``/``nbf`` up to ``clock_skew`` ahead, as
the ``jwt`` method's), the audience compared as
:func:`.oauth_config.canonical_audience` folds it, the key agreeing with the header's ``alg``,
and the identity's fields read from the claims the issuer entry names.
Each check raises the one ``invalid_token`` refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from ..identity import Identity
from ..jwks import UsableKey
from ..refusals import INVALID_TOKEN, AuthFailure
from ..scopes import ScopeError, checked_scopes, scopes_from_claims
from .oauth_config import IssuerConfig, canonical_audience

METHOD: Final = "oauth"
# What each alg needs of the key: its kty and, for EC and OKP, its curve.
_KEY_FOR: Final[Mapping[str, tuple[str, frozenset[str | None]]]] = MappingProxyType({
    **{alg: ("RSA", frozenset({None})) for alg in ("RS256", "RS384", "RS512", "PS256",
                                                   "PS384", "PS512")},
    "ES256": ("EC", frozenset({"P-256"})), "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})), "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
})


def refusal(hint: str) -> AuthFailure:
    """The ``401 invalid_token`` of this method, with ``hint`` as the developer message."""
    return INVALID_TOKEN.failure(hint, method=METHOD)


def check_claims(entry: IssuerConfig, claims: Mapping[str, Any], now: float) -> None:
    """The time claims and the audience; checked before any key, so a dead token costs no
    fetch. Whole seconds compared as ``jwt.decode`` compares them."""
    if "exp" not in claims:
        raise refusal("The token lacks exp.")
    if int(claims["exp"]) <= now - entry.leeway:
        raise refusal("The token has expired: get a new one from the identity provider.")
    for name in ("nbf", "iat"):
        if name in claims and int(claims[name]) > now + entry.clock_skew:
            raise refusal(f"The token's {name} is more than {entry.clock_skew} s ahead of this "
                          "server's clock (the issuer's clock_skew): set the clocks right (NTP).")
    if (entry.max_lifetime is not None
            and claims["exp"] > now + entry.max_lifetime + entry.clock_skew):
        raise refusal(f"The token's exp is more than {entry.max_lifetime} s ahead.")
    audience = claims.get("aud")
    values = [audience] if isinstance(audience, str) else (audience or [])
    if not any(canonical_audience(value) in entry.audiences for value in values):
        raise refusal("The token's aud does not name this resource server.")


def check_key_agrees(key: UsableKey, alg: str) -> None:
    """The key is of the type the ``alg`` needs (RFC 7518 section 3.1), and the JWK's own
    ``alg``, when it has one, is this one: a token never picks how its key is used."""
    kty, curves = _KEY_FOR[alg]
    if key.kty != kty or key.crv not in curves or key.alg not in (None, alg):
        raise refusal("The token's alg does not agree with its key.")


def token_identity(entry: IssuerConfig, claims: dict[str, Any]) -> Identity:
    """The identity a verified token of ``entry`` proves."""
    return Identity(
        method=METHOD, subject=claims.get("sub"), client=_client(entry, claims),
        claims=MappingProxyType(claims), scopes=_scopes(entry, claims),
        tenant=string_claim(claims, entry.tenant_claim), issuer=entry.issuer,
    )


def introspected_identity(answer: dict[str, Any], entry: IssuerConfig | None) -> Identity:
    """The identity an active introspection answer (RFC 7662 section 2.2) proves; the answer
    itself was checked by :class:`~..introspection.Introspector`."""
    try:
        scopes = checked_scopes(answer.get("scope", "").split())
    except ScopeError:
        raise refusal("The introspected token's scope is not a list of RFC 6749 scope "
                      "tokens.") from None
    return Identity(
        method=METHOD, subject=answer.get("sub"), client=answer.get("client_id") or None,
        claims=MappingProxyType(answer), scopes=scopes,
        tenant=string_claim(answer, entry.tenant_claim) if entry is not None else None,
        issuer=answer.get("iss"))


def string_claim(claims: Mapping[str, Any], name: str | None) -> str | None:
    """A claim that must be a non-empty string to count; anything else counts as absent."""
    value = claims.get(name) if name is not None else None
    return value if isinstance(value, str) and value else None


def _client(entry: IssuerConfig, claims: Mapping[str, Any]) -> str | None:
    if entry.client_claim is not None:
        return string_claim(claims, entry.client_claim)
    return string_claim(claims, "client_id") or string_claim(claims, "azp")


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
    raise refusal("The token's scopes must be a space-separated string or a list of RFC 6749 "
                  "scope tokens.")
