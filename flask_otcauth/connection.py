"""The transport facts of the current request, for the ``mtls`` method; read only when asked.

The core never sees the WSGI environ: this module tells it who opened the connection and
which certificate the TLS server saw. Werkzeug's development server with an ``ssl_context``
and mod_wsgi (``WSGIPassApacheRequest``/``SSLOptions +ExportCertData``) put the peer
certificate in ``SSL_CLIENT_CERT`` as PEM; gunicorn does not, so behind it the certificate
arrives in a header from the proxy. ``ProxyFix`` rewrites ``REMOTE_ADDR`` to the address the
proxy reports; the peer that actually connected is the one it kept in
``werkzeug.proxy_fix.orig``, and only that one can be a trusted proxy.
"""

from __future__ import annotations

from typing import Any

from flask import request

from .core.methods.base import Connection


def connection_facts() -> Connection:
    """The peer address and TLS client certificate of the current request."""
    environ = request.environ
    original: dict[str, Any] | None = environ.get("werkzeug.proxy_fix.orig")
    peer = (original.get("REMOTE_ADDR") if original is not None
            else environ.get("REMOTE_ADDR"))
    certificate = environ.get("SSL_CLIENT_CERT")
    return Connection(peer if isinstance(peer, str) else None,
                      certificate if isinstance(certificate, str) and certificate else None)
