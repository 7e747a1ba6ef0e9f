"""Credentials only over TLS (OTC 1.0: keys travel over secure connections only).

With ``OTC_AUTH_REQUIRE_HTTPS`` a credential that arrives over plain HTTP is refused before it is
checked: it has already crossed the network in clear, and answering whether it is valid would
make the server an oracle for whoever is listening. Behind a TLS-terminating proxy the app
applies Werkzeug's ``ProxyFix(x_proto=1)``, so ``request.is_secure`` follows
``X-Forwarded-Proto``; without ProxyFix the header is ignored, as any client could send it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from flask import Flask, request

from .exceptions import AuthFailure

if TYPE_CHECKING:
    from werkzeug.sansio.response import Response

    from .authenticator import Authenticator
    from .schemes import AuthRequest

HSTS_HEADER: Final = "Strict-Transport-Security"
HSTS_VALUE: Final = "max-age=31536000"
# In the WSGI environ, not on g: g outlives a request where a test keeps an app context pushed.
_PROTECTED_KEY: Final = "otcauth.protected"


def https_required() -> AuthFailure:
    return AuthFailure(
        403,
        "https_required",
        "Credentials must be sent over HTTPS.",
        "This server refuses credentials sent over plain HTTP: use its https:// URL, and "
        "consider the credential exposed. Behind a TLS-terminating proxy the app must apply "
        "werkzeug.middleware.proxy_fix.ProxyFix(x_proto=1).",
    )


def refuse_plain_http(
    authenticator: Authenticator, auth_request: AuthRequest, methods: tuple[str, ...]
) -> None:
    """Raise :func:`https_required` for credentials over plain HTTP; mark the request for HSTS."""
    request.environ[_PROTECTED_KEY] = True
    if not request.is_secure and authenticator.presents_credentials(auth_request, methods):
        raise https_required()


def install_hsts(app: Flask) -> None:
    """Send ``Strict-Transport-Security`` on the secure responses of protected requests."""
    hooks = app.after_request_funcs.setdefault(None, [])
    if _add_hsts not in hooks:
        hooks.append(_add_hsts)


def _add_hsts(response: Response) -> Response:
    # Browsers ignore HSTS over plain HTTP (RFC 6797), and an app's own value (Talisman) wins.
    if request.environ.get(_PROTECTED_KEY) and request.is_secure:
        response.headers.setdefault(HSTS_HEADER, HSTS_VALUE)
    return response
