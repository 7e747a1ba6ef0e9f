"""Where the verified identity of the current request lives: on the request it belongs to.

Not on ``g``: an app context pushed before a request (pytest-flask, or one pushed at start-up)
keeps one ``g`` across requests, and an identity left there would be read by the next request.
The request object is new for every request, so an identity stored on it can only ever be read
by its own request, and nothing has to reset it.
"""

from __future__ import annotations

from typing import Final, cast

from flask import has_request_context, request
from werkzeug.local import LocalProxy

from .core.identity import Identity

# On the Request: (the methods it was verified against, the identity or None), so a second
# check in the same request (a before_request hook, then a decorator) reuses the first.
VERIFIED_ATTR: Final = "otcauth_verified"


def get_identity() -> Identity | None:
    """The verified identity of this request; ``None`` for an anonymous or unchecked caller,
    and outside a request."""
    if not has_request_context():
        return None
    verified = getattr(request._get_current_object(), VERIFIED_ATTR, None)  # type: ignore[attr-defined]
    return cast("Identity | None", verified[1]) if verified is not None else None


current_identity: Identity = cast(Identity, LocalProxy(get_identity))
