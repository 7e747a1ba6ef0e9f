"""Tokens this server accepts, signed with its current secret: for tests and for hand testing.

Used by ``flask otcauth mint-token`` and the pytest plugin; Flask-free. A server never needs to
mint tokens to run (tokens come from the agent platform), so this refuses anything the server
itself would refuse rather than produce a token that only fails later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from .config import Settings
from .schemes.jwt import ALGORITHMS
from .scopes import checked_scopes


class MintError(ValueError):
    """The token asked for would be refused by the server (or cannot be signed at all)."""


def mint_token(
    settings: Settings,
    *,
    now: float,
    ttl: int = 300,
    scopes: Iterable[str] | None = None,
    **claims: Any,
) -> str:
    """An HS256 token signed with the first (current) ``OTC_AUTH_JWT_SECRET``.

    ``exp`` is ``now + ttl``; ``aud`` defaults to the first allowed client and ``iss`` to the
    configured issuer; ``scopes`` become the space-separated ``scope`` claim. Other ``claims``
    are added as given (``sub``, ``jti``, ...).
    """
    if not settings.jwt_secrets:
        raise MintError("OTC_AUTH_JWT_SECRET is not set: there is no secret to sign with.")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise MintError(f"ttl must be a whole number of seconds >= 1, got {ttl!r}.")
    if ttl > settings.jwt_max_lifetime:
        raise MintError(f"ttl {ttl} s is above OTC_AUTH_JWT_MAX_LIFETIME "
                        f"({settings.jwt_max_lifetime} s): the server would refuse the token.")
    payload: dict[str, Any] = {"iat": int(now), "exp": int(now) + ttl}
    if settings.jwt_audiences:
        payload["aud"] = settings.jwt_audiences[0]
    if settings.jwt_issuer is not None:
        payload["iss"] = settings.jwt_issuer
    if scopes is not None:
        try:
            payload["scope"] = " ".join(sorted(checked_scopes(scopes)))
        except ValueError as error:
            raise MintError(str(error)) from None
    payload.update(claims)
    _refuse_foreign_audience(settings, payload)
    return jwt.encode(payload, settings.jwt_secrets[0], algorithm=ALGORITHMS[0])


def _refuse_foreign_audience(settings: Settings, payload: Mapping[str, Any]) -> None:
    audience = payload.get("aud")
    if audience is None:
        if settings.jwt_require_audience:
            raise MintError("OTC_AUTH_JWT_REQUIRE_AUDIENCE is on: give an aud.")
        return
    values = [audience] if isinstance(audience, str) else list(audience)
    if not any(value in settings.jwt_audiences for value in values):
        allowed = ", ".join(settings.jwt_audiences) or "none configured"
        raise MintError(f"aud {audience!r} is not an allowed client ({allowed}): the server "
                        "would refuse the token.")
