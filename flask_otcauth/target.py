"""The URI a client addressed, rebuilt from the WSGI environ for signature checks.

A signature covers what the client sent: the percent-encoded path and query exactly as written
(``RAW_URI``/``REQUEST_URI``, not the decoded ``PATH_INFO``) and the authority it called. Behind
a TLS-terminating proxy, werkzeug's ``ProxyFix`` restores that authority and scheme
(``X-Forwarded-Host``/``-Proto``) and the path prefix the proxy stripped
(``X-Forwarded-Prefix``, which ends up in ``SCRIPT_NAME``); this module puts the prefix back.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, urlsplit

from flask import request

_PATH_SAFE: Final = "/:@!$&'()*+,;=-._~"


def target_uri() -> str:
    """The absolute target URI of the current request, as the client wrote it."""
    environ = request.environ
    path, query = _raw_path_and_query(environ)
    original: dict[str, Any] | None = environ.get("werkzeug.proxy_fix.orig")
    if original is not None:
        script_name = environ.get("SCRIPT_NAME") or ""
        original_script_name = _encoded(original.get("SCRIPT_NAME") or "")
        if script_name != original.get("SCRIPT_NAME") and path.startswith(original_script_name):
            # ProxyFix(x_prefix=1): the proxy removed this prefix from the path the client signed.
            path = _encoded(script_name) + path[len(original_script_name):]
    uri = f"{request.scheme}://{request.host}{path or '/'}"
    return f"{uri}?{query}" if query else uri


def _raw_path_and_query(environ: dict[str, Any]) -> tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if not raw.startswith("/"):  # absolute-form request target: keep path and query
            parts = urlsplit(raw)
            return parts.path, parts.query
        path, _, query = raw.partition("?")
        return path, query
    path = _encoded(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    return path, environ.get("QUERY_STRING", "")


def _encoded(wsgi_path: str) -> str:
    """A WSGI path (bytes decoded as latin-1, per PEP 3333) percent-encoded for a URI."""
    return quote(wsgi_path.encode("latin-1"), safe=_PATH_SAFE)
