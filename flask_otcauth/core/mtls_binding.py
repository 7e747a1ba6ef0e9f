"""Certificate-bound access tokens (RFC 8705 section 3): ``cnf["x5t#S256"]``; Flask-free.

A token that carries ``x5t#S256`` is accepted only over a connection that presents the
certificate it names: the base64url SHA-256 of the DER, compared in constant time. A server
that reads no certificate (no ``OTC_AUTH_MTLS_SOURCE``) cannot check the binding, so it refuses
such a token rather than take it as a bearer token. The check wraps the oauth scheme, so the
scheme's own work (and the DPoP checks beside it) is untouched; the credential stays the token
string (a ``str`` that also remembers its request), so routing between Bearer methods still
works on it.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any, Final

from .identity import Identity
from .refusals import INVALID_TOKEN, AuthFailure

if TYPE_CHECKING:
    from .methods.base import AuthRequest, Scheme
    from .mtls_source import CertificateSource

X5T: Final = "x5t#S256"


class BoundToken(str):
    """The token, with the request it came on: what the binding check needs beside it."""

    request: AuthRequest


def check_binding(identity: Identity, source: CertificateSource | None,
                  request: AuthRequest | None, now: float) -> None:
    """Refuse ``identity``'s token unless the request presents the certificate it is bound to."""
    confirmation = identity.claims.get("cnf")
    if not isinstance(confirmation, dict) or X5T not in confirmation:
        return
    expected = confirmation[X5T]
    if not isinstance(expected, str):
        raise _refusal("The token's cnf x5t#S256 is not a string.")
    if source is None or request is None:
        raise _refusal("The token is bound to a client certificate (cnf x5t#S256), and this "
                       "server reads none: it cannot be accepted as a bearer token.")
    presented = source.presented(request)
    if presented is None:
        raise _refusal("The token is bound to a client certificate; connect with it.")
    if not hmac.compare_digest(presented.x5t_s256.encode(), expected.encode()):
        raise _refusal("The token is bound to another client certificate than the one "
                       "this connection presents.")


def _refusal(hint: str) -> AuthFailure:
    return INVALID_TOKEN.failure(hint, method="oauth")


class CertificateBoundScheme:
    """The oauth scheme, plus the RFC 8705 check after it verifies a token."""

    def __init__(self, inner: Scheme, source: CertificateSource | None) -> None:
        self._inner = inner
        self._source = source

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def method(self) -> str:
        return self._inner.method

    @property
    def credential_hint(self) -> str:
        return self._inner.credential_hint

    def extract(self, request: AuthRequest) -> Any:
        credential = self._inner.extract(request)
        if type(credential) is str:
            bound = BoundToken(credential)
            bound.request = request
            return bound
        return credential

    def verify(self, credential: Any, now: float) -> Identity:
        identity = self._inner.verify(credential, now)
        check_binding(identity, self._source, getattr(credential, "request", None), now)
        return identity

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._inner.challenge(failure)
