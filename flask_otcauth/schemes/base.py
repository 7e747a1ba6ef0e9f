"""The one interface every authentication scheme implements, and the request view it reads.

A scheme is a small Flask-free class: it finds its credential in the request (``extract``),
checks it (``verify``) and says how a client should authenticate (``challenge``). Adding a
method means adding one file with one such class; the authenticator and the Flask layer do not
change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ..exceptions import AuthFailure
from ..identity import Identity

REALM: Final = "otc"


def _no_body() -> bytes:
    return b""


def _no_target() -> str:
    return "http://localhost/"


@dataclass(slots=True)  # built for every request: a frozen dataclass costs 3x to build
class AuthRequest:
    """What a scheme may read of an HTTP request; built by the Flask layer.

    ``header`` looks a header up case-insensitively and returns ``None`` when it is absent.
    ``target_uri`` and ``body`` are functions so that only a scheme that signs them (hmac)
    pays for them: the absolute URI as the client sent it (raw path and query, the authority
    the client addressed) and the exact body bytes received.
    """

    header: Callable[[str], str | None]
    method: str = "GET"
    target_uri: Callable[[], str] = _no_target
    body: Callable[[], bytes] = _no_body


class Scheme(Protocol):
    """An authentication method. ``method`` is its name in ``OTC_AUTH_METHODS``."""

    @property
    def method(self) -> str: ...

    @property
    def credential_hint(self) -> str:
        """How a client sends this credential, for the developer message of a 401."""

    def extract(self, request: AuthRequest) -> Any:
        """The credential this scheme reads, or ``None`` when the request carries none.

        Raises :class:`AuthFailure` when a credential is there but cannot be one (two headers
        that disagree, for instance): a present credential is never silently ignored.
        """

    def verify(self, credential: Any, now: float) -> Identity:
        """The identity the credential proves, or :class:`AuthFailure`.

        A scheme whose verifying has an effect (hmac spends a nonce) sets a class attribute
        ``spends_credential = True``; the authenticator then verifies it after the others, so
        a request refused for another credential does not burn its nonce.
        """

    def challenge(self, failure: AuthFailure | None) -> str:
        """This scheme's ``WWW-Authenticate`` challenge, shaped by the failure if it was ours."""


def header_value_problem(value: str, max_length: int) -> str | None:
    """Why a credential header cannot be one a client meant, or ``None``: checked before any
    parsing of it, with string methods (a regular expression costs twice as much)."""
    if not value:
        return "The credential header is empty."
    if len(value) > max_length:
        return f"The credential is longer than {max_length} characters."
    # Visible ASCII without the comma: WSGI servers join repeated header lines with ", ", so a
    # comma means the client sent the header twice.
    if not (value.isascii() and value.isprintable()) or " " in value or "," in value:
        return ("The credential must be visible ASCII without spaces or commas (a comma means "
                "the header was sent more than once).")
    return None
