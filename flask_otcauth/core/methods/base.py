"""What a method is: the one object that declares it, the scheme it builds, the request it reads.

An :class:`AuthMethod` declares everything about a method in one place: its name, its settings
keys (with their parsers), how its settings are read and checked, how its :class:`Scheme` is
built, its OpenAPI security scheme, what ``flask otcauth check`` reports for it and how the
pytest plugin makes a credential for it. The settings, the configuration page, the OpenAPI
helpers, ``check`` and the plugin all read these objects; none of them names a method. A
:class:`Scheme` is the per-app object built from the method's settings that does the work on
each request: ``extract``, ``verify``, ``challenge``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

from ..config_keys import ConfigKey
from ..identity import Identity
from ..refusals import AuthFailure, Refusal
from ..storage import MemoryStorage, Storage

REALM: Final = "otc"
S = TypeVar("S")
SchemeObject = dict[str, Any]


def _no_body() -> bytes:
    return b""


def _no_target() -> str:
    return "http://localhost/"


def _no_query() -> str:
    return ""


def _no_route() -> tuple[str | None, str | None]:
    return None, None


def _no_tool() -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Connection:
    """What the transport knows of a request and no header can say: the address of the peer
    that opened the connection (``REMOTE_ADDR`` before ``ProxyFix`` rewrote it), which decides
    whether a certificate header comes from a trusted proxy, and the client certificate the
    TLS server itself put in the WSGI environ (``SSL_CLIENT_CERT``, PEM), or ``None``."""

    peer_address: str | None = None
    client_certificate: str | None = None


_NO_CONNECTION: Final = Connection()


def _body_read() -> bool:
    return True


def _no_connection() -> Connection:
    return _NO_CONNECTION


@dataclass(slots=True)  # built for every request: a frozen dataclass costs 3x to build
class AuthRequest:
    """What a scheme may read of an HTTP request; built by the framework layer.

    ``header`` looks a header up case-insensitively and returns ``None`` when it is absent.
    ``target_uri`` and ``body`` are functions so that only a scheme that signs them (hmac)
    pays for them: the absolute URI as the client sent it (raw path and query, the authority
    the client addressed) and the exact body bytes received. ``client_address`` is the address
    the rate limits count failures by; ``secure`` whether the request came over TLS;
    ``query`` the raw query string alone (cheaper than ``target_uri`` for a scheme that only
    looks for a credential in it). For access policies, asked only
    when a caller's policy needs them: ``route`` gives the endpoint name and URL rule the
    request matched (``None`` for none), ``tool`` the tool id a tool call's JSON body names
    (``None`` when it names none, or the body is not read: too large, or of unknown length).
    ``connection`` gives the :class:`Connection` facts, for the ``mtls`` method and tokens
    bound to a certificate. ``tool_read`` says whether the view can see no more of a tool call's
    body than ``tool`` did (it was read, or is too large for the view to read either), so that
    per-tool requirements refuse a call whose tool they could not see, while a body read that
    names no tool is left to the view's own 400.
    """

    header: Callable[[str], str | None]
    method: str = "GET"
    target_uri: Callable[[], str] = _no_target
    body: Callable[[], bytes] = _no_body
    client_address: str | None = None
    secure: bool = True
    query: Callable[[], str] = _no_query
    route: Callable[[], tuple[str | None, str | None]] = _no_route
    tool: Callable[[], str | None] = _no_tool
    connection: Callable[[], Connection] = _no_connection
    tool_read: Callable[[], bool] = _body_read


class Scheme(Protocol):
    """A method's work on each request. ``method`` is its name in ``OTC_AUTH_METHODS``."""

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


@dataclass(frozen=True, slots=True)
class Setup:
    """What ``init_app`` hands a method besides its settings: the app's shared storage, the
    loader registered with ``@auth.api_key_loader`` (``None`` when there is none), and
    ``scopeless_grants``, the scopes of a credential that carries no scope information
    (``OTC_AUTH_SCOPELESS_GRANTS``; ``None`` until the gate fills in the settings' value, so a
    method reads it as ``setup.scopeless_grants or frozenset()``)."""

    storage: Storage = field(default_factory=MemoryStorage)
    key_loader: Callable[[str], Any] | None = None
    scopeless_grants: frozenset[str] | None = None


@dataclass
class Report:
    """What ``flask otcauth check`` prints: lines to stdout, warnings and errors to stderr."""

    workers: int = 1
    now: float = 0.0
    has_key_loader: bool = False
    storage_uri: str = "memory://"  # already masked: safe to print
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TestRequest:
    """One request the pytest plugin wants a credential for, and the options the test gave
    (``key=...`` for an API key, claims for a token, ``client_id=...`` for a signature)."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    method: str
    url: str
    body: bytes = b""
    options: Mapping[str, Any] = field(default_factory=dict)


class AuthMethod(ABC, Generic[S]):
    """One authentication method, declared in one object; register it with
    ``OTCAuth.register_method`` (or the ``flask_otcauth.methods`` entry point).

    ``S`` is the type of the method's own settings, as :meth:`read_settings` returns them.
    Every registered method's keys are read and checked at ``init_app`` whether or not it is
    enabled, so a typo is found before someone turns the method on.
    """

    name: ClassVar[str]
    keys: ClassVar[tuple[ConfigKey, ...]] = ()
    refusals: ClassVar[tuple[Refusal, ...]] = ()

    @abstractmethod
    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> S:
        """The method's settings: ``values(KEY)`` is the key's parsed value (or default);
        ``context`` holds ``has_key_loader``. Raise :class:`OTCAuthConfigError` naming the
        key for a value that only makes no sense together with another."""

    def check_enabled(self, settings: S, context: Mapping[str, Any]) -> None:
        """Raise :class:`OTCAuthConfigError` when the method is enabled but cannot work
        (no secret, no key): a server that would refuse everyone must not start. A method
        whose settings are always usable keeps this default."""
        return None

    def secrets(self, settings: S) -> Iterable[tuple[str, bytes]]:
        """``(where, SHA-256 digest)`` of every secret the settings hold, so the settings can
        refuse one secret configured for two methods."""
        return ()

    @abstractmethod
    def build(self, settings: S, setup: Setup) -> Scheme:
        """The scheme that verifies requests for one app."""

    @abstractmethod
    def security_scheme(self, settings: S) -> SchemeObject:
        """The OpenAPI 3.1 security scheme object describing the method (the spec: MUST)."""

    def describe(self, settings: S, report: Report) -> None:
        """Add the method's lines, warnings and errors to ``flask otcauth check``'s report;
        never a secret."""
        report.lines.append(f"{self.name}: enabled")

    @abstractmethod
    def test_headers(self, settings: S, request: TestRequest) -> dict[str, str]:
        """Headers carrying a credential the app accepts, for the pytest plugin; raise
        ``ValueError`` saying which option is missing."""


def quoted_string_content(text: str) -> str:
    """``text`` made safe inside a quoted-string of a challenge (RFC 9110 section 5.6.4; RFC 6750
    section 3 allows no double quote or backslash in ``error_description``)."""
    return text.replace('"', "'").replace("\\", "/")


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
