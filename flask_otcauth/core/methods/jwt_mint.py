"""Minting the tokens a server would accept: ``flask otcauth mint-token``, the pytest plugin.

Apart from the scheme so that it reads only what minting needs (:class:`MintSettings`, which
the JWT method's settings satisfy), and so the scheme's module stays about verifying.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

import jwt

from ..scopes import checked_scopes

ALGORITHMS: Final = ["HS256"]


class MintSettings(Protocol):
    """What minting reads of the JWT settings."""

    @property
    def secrets(self) -> tuple[bytes, ...]: ...
    @property
    def audiences(self) -> tuple[str, ...]: ...
    @property
    def require_audience(self) -> bool: ...
    @property
    def issuer(self) -> str | None: ...
    @property
    def max_lifetime(self) -> int: ...


class MintError(ValueError):
    """The token asked for would be refused by the server (or cannot be signed at all)."""


def mint_token(
    settings: MintSettings,
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


def _refuse_foreign_audience(settings: MintSettings, payload: Mapping[str, Any]) -> None:
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
