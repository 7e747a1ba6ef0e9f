"""Credentials only over TLS (OTC 1.0: keys travel over secure connections only).

With ``OTC_AUTH_REQUIRE_HTTPS`` the core refuses a credential that arrives over plain HTTP
before it is checked (``https_required``); this module sends ``Strict-Transport-Security`` on
the secure responses of protected requests. Behind a TLS-terminating proxy the app applies
Werkzeug's ``ProxyFix(x_proto=1)``, so ``request.is_secure`` follows ``X-Forwarded-Proto``;
without ProxyFix the header is ignored, as any client could send it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from flask import Flask, request

if TYPE_CHECKING:
    from werkzeug.sansio.response import Response

HSTS_HEADER: Final = "Strict-Transport-Security"
HSTS_VALUE: Final = "max-age=31536000"
# In the WSGI environ, not on g: g outlives a request where a test keeps an app context pushed.
PROTECTED_KEY: Final = "otcauth.protected"


def install_hsts(app: Flask) -> None:
    """Send ``Strict-Transport-Security`` on the secure responses of protected requests."""
    hooks = app.after_request_funcs.setdefault(None, [])
    if _add_hsts not in hooks:
        hooks.append(_add_hsts)


def _add_hsts(response: Response) -> Response:
    # Browsers ignore HSTS over plain HTTP (RFC 6797), and an app's own value (Talisman) wins.
    if request.environ.get(PROTECTED_KEY) and request.is_secure:
        response.headers.setdefault(HSTS_HEADER, HSTS_VALUE)
    return response
