"""Signing requests for an hmac-protected server, so callers never hand-write the profile.

``sign_request`` returns the three headers to add (``Content-Digest``, ``Signature-Input``,
``Signature``); :class:`HttpxAuth` and :class:`RequestsAuth` add them to every request of an
``httpx`` or ``requests`` client (``pip install 'flask-otcauth[client]'``)::

    httpx.post(url, json=payload, auth=HttpxAuth("my-client", secret))
    requests.post(url, json=payload, auth=RequestsAuth("my-client", secret))

:func:`verify_tool_listing` checks a signed ``GET /tools`` listing against the server's key set
and a pinned earlier listing (added, removed and changed tools, and rug pulls: a definition
changed under an unchanged version); :func:`canonicalize` is the RFC 8785 form it verifies.

DPoP-bound OAuth tokens (RFC 9449) go with a proof per request: :class:`DPoPKey` makes them,
:class:`DPoPHttpxAuth` and :class:`DPoPRequestsAuth` add them (and answer one nonce challenge)::

    key = DPoPKey.generate()
    httpx.get(url, auth=DPoPHttpxAuth(access_token, key))

Nothing here imports Flask or the server: a caller installs what it calls with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dpop import DPoPKey
from .jcs import CanonicalizationError, canonicalize
from .signing import sign_request
from .tool_listing import ToolListingError, ToolListingReport, verify_tool_listing

if TYPE_CHECKING:
    from .auth import DPoPHttpxAuth, DPoPRequestsAuth, HttpxAuth, RequestsAuth

__all__ = ["CanonicalizationError", "DPoPHttpxAuth", "DPoPKey", "DPoPRequestsAuth", "HttpxAuth",
           "RequestsAuth", "ToolListingError", "ToolListingReport", "canonicalize",
           "sign_request", "verify_tool_listing"]
_LAZY = ("HttpxAuth", "RequestsAuth", "DPoPHttpxAuth", "DPoPRequestsAuth")


def __getattr__(name: str) -> Any:
    """The auth classes import their HTTP library on first use (PEP 562)."""
    if name in _LAZY:
        from . import auth  # noqa: PLC0415 - the client extra, loaded when asked for

        return getattr(auth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
