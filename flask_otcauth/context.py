"""Where the verified identity of the current request lives: namespaced attributes on ``g``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

from flask import g
from werkzeug.local import LocalProxy

from .identity import Identity

IDENTITY_ATTR: Final = "otcauth_identity"
# The methods the identity was verified against, so a second check in the same request (a
# before_request hook, then a decorator) reuses the first instead of verifying again.
VERIFIED_ATTR: Final = "otcauth_verified_for"


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a view asks of its caller: which methods it accepts, whether anonymity is fine,
    and which scopes the caller must hold (all of ``scopes``, one of ``any_scopes``).

    ``methods`` is ``None`` for "every method the app enabled".
    """

    methods: tuple[str, ...] | None = None
    optional: bool = False
    scopes: tuple[str, ...] = ()
    any_scopes: tuple[str, ...] = ()


def get_identity() -> Identity | None:
    """The verified identity of this request; ``None`` for an anonymous or unchecked caller."""
    return cast("Identity | None", g.get(IDENTITY_ATTR))


current_identity: Identity = cast(Identity, LocalProxy(get_identity))
