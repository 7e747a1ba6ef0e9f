"""pytest plugin (entry point ``pytest11``): credentials for testing a protected tool server.

Helpers work on the app under test and read its settings, so tests send exactly what the
server accepts: tokens are signed with its current secret and carry its first allowed
audience, keys go in its first key header. The fixtures build on pytest-flask's ``app`` and
``client``::

    def test_tools_are_listed(otc_client):
        assert otc_client.get("/tools").status_code == 200

    @pytest.mark.otc_claims(sub="ci", scopes=["tools:list"])
    def test_listing_needs_a_scope(client, otc_headers):
        assert client.get("/tools", headers=otc_headers).status_code == 200

For the ``oauth`` method, ``otc_oauth_issuer`` is a local authorization server: RSA, EC and
Ed25519 keys, its JWK Set served on a loopback port; put ``otc_oauth_issuer.config()`` in
``OTC_AUTH_OAUTH_ISSUERS`` and mint tokens with :func:`make_oauth_token`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from .core.methods.base import TestRequest
from .core.methods.jwt import JWT, mint_token
from .core.methods.oauth import OAUTH
from .state import app_state

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from .core.settings import Settings

DEFAULT_SUBJECT: Final = "pytest"
MARKER: Final = "otc_claims"


def _settings(app: Flask) -> Settings:
    return app_state(app).settings


def credential_headers(
    app: Flask, method: str, http_method: str = "GET", path: str = "/", body: bytes = b"",
    **options: Any,
) -> dict[str, str]:
    """Headers with a credential of ``method`` that ``app`` accepts for one request, made by
    the method itself (``AuthMethod.test_headers``): for a method of your own as for ours.

    ``options`` go to the method: ``key=`` for ``api_key``, claims for ``jwt``,
    ``client_id=`` for ``hmac``. ``path`` (query included) and ``body`` matter to methods that
    sign the request.
    """
    settings = _settings(app)
    registered = {known.name: known for known in settings.registered}
    if method not in registered:
        raise ValueError(f'The app knows no method "{method}": register it before init_app.')
    host = app.config.get("SERVER_NAME") or "localhost"
    request = TestRequest(http_method.upper(), f"http://{host}{path}", body, options)
    return registered[method].test_headers(settings.of(method), request)


def make_token(app: Flask, *, ttl: int = 300, **claims: Any) -> str:
    """A JWT ``app`` accepts: its current secret, audience and issuer, ``sub`` ``"pytest"``.

    ``scopes=[...]`` becomes the ``scope`` claim; other keywords are claims (``sub``, ``aud``,
    ...). A ``ttl`` above the app's ``OTC_AUTH_JWT_MAX_LIFETIME`` raises ``ValueError``.
    """
    claims.setdefault("sub", DEFAULT_SUBJECT)
    return mint_token(_settings(app).of(JWT), now=time.time(), ttl=ttl, **claims)


def bearer_headers(app_or_token: Flask | str, **claims: Any) -> dict[str, str]:
    """``Authorization: Bearer`` with the given token, or one :func:`make_token` mints."""
    token = app_or_token if isinstance(app_or_token, str) else make_token(app_or_token, **claims)
    return {"Authorization": f"Bearer {token}"}


def api_key_headers(app: Flask, key: str) -> dict[str, str]:
    """``key`` in the app's first API key header (``OTC-API-Key`` unless configured)."""
    return credential_headers(app, "api_key", key=key)


def signed_headers(
    app: Flask, method: str, path: str, body: bytes = b"", *, client_id: str | None = None
) -> dict[str, str]:
    """Signature headers for one test-client request to ``path`` (query included) with ``body``.

    Signed as the app's first ``OTC_AUTH_HMAC_CLIENTS`` client (or ``client_id``) with its
    current secret, for the authority the test client uses (``SERVER_NAME`` or localhost).
    Each call makes a new nonce: sign every request anew.
    """
    return credential_headers(app, "hmac", method, path, body, client_id=client_id)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**claims): claims of the otc_token fixture (sub, scopes=[...], aud, ttl...)",
    )


def _marked_claims(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The claims of every ``otc_claims`` marker on the test, its class and module, merged:
    a module can set ``scopes`` for all its tests and one test change only ``sub``."""
    claims: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        claims.update(marker.kwargs)
    return claims


@pytest.fixture
def otc_token(app: Flask, request: pytest.FixtureRequest) -> str:
    """A token for pytest-flask's ``app``; ``@pytest.mark.otc_claims(...)`` on the test, its class
    or its module (``pytestmark``) sets its claims, the closest winning."""
    return make_token(app, **_marked_claims(request))


@pytest.fixture
def otc_headers(otc_token: str) -> dict[str, str]:
    """``Authorization: Bearer`` with :func:`otc_token`."""
    return bearer_headers(otc_token)


@pytest.fixture
def otc_client(client: FlaskClient, otc_token: str) -> FlaskClient:
    """pytest-flask's ``client``, sending :func:`otc_token` with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {otc_token}"
    return client


_PUBLIC_JWK: Final[dict[str, Callable[..., Any]]] = {
    "RSA": RSAAlgorithm.to_jwk, "EC": ECAlgorithm.to_jwk, "OKP": OKPAlgorithm.to_jwk}
_KEY_OF_ALG: Final = {"RS256": "RSA", "PS256": "RSA", "RS384": "RSA", "RS512": "RSA",
                      "PS384": "RSA", "PS512": "RSA", "ES256": "EC", "EdDSA": "OKP"}


_FIRST_KEYS: dict[str, Any] = {}


def _new_key(kty: str, *, first: bool = False) -> Any:
    """A new private key; the first key of each type is made once per process and shared by
    every LocalIssuer (an RSA key takes a tenth of a second to make), rotations are fresh."""
    if first:
        if kty not in _FIRST_KEYS:
            _FIRST_KEYS[kty] = _new_key(kty)
        return _FIRST_KEYS[kty]
    if kty == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kty == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


class LocalIssuer:
    """An authorization server for tests, on 127.0.0.1: its JWK Set at ``/jwks``, its RFC 8414
    metadata at the well-known path (``/redirect`` answers 302 to ``/jwks``). ``fetches``
    counts the JWK Set requests it answered; ``available = False`` makes it answer 503,
    ``cache_control`` sets that header, ``delay`` seconds pass before each answer and
    ``metadata_issuer`` replaces the issuer its metadata names; ``metadata_paths`` are where it
    serves that metadata (RFC 8414's and OpenID Connect's well-known paths)."""

    __test__: Final = False

    def __init__(self) -> None:
        self.private: dict[str, tuple[str, Any]] = {}  # kid -> (kty, private key)
        self.generation = 0
        for kty in ("RSA", "EC", "OKP"):
            self.rotate(kty, first=True)
        self.fetches = 0
        self.available = True
        self.cache_control: str | None = None
        self.extra_members: list[dict[str, Any]] = []
        self.delay = 0.0
        self.metadata_issuer: str | None = None
        self.metadata_paths = {"/.well-known/oauth-authorization-server",
                               "/.well-known/openid-configuration"}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(issuer.delay)
                document: dict[str, Any] | None = None
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", issuer.jwks_uri)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/jwks":
                    issuer.fetches += 1
                    document = issuer.jwks()
                elif self.path in issuer.metadata_paths:
                    document = {"issuer": issuer.metadata_issuer or issuer.issuer,
                                "jwks_uri": issuer.jwks_uri}
                if document is None or not issuer.available:
                    self.send_response(404 if document is None else 503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if issuer.cache_control is not None:
                    self.send_header("Cache-Control", issuer.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the tests read fetches, not logs

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.jwks_uri = f"{self.issuer}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def rotate(self, kty: str = "RSA", *, first: bool = False) -> str:
        """Replace the key of ``kty`` with a new one under a new ``kid``; returns the kid."""
        self.generation += 1
        self.private = {kid: value for kid, value in self.private.items() if value[0] != kty}
        kid = f"{kty.lower()}-{self.generation}"
        self.private[kid] = (kty, _new_key(kty, first=first))
        return kid

    def kid(self, kty: str) -> str:
        return next(kid for kid, value in self.private.items() if value[0] == kty)

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (RFC 7517 section 5)."""
        keys = []
        for kid, (kty, key) in self.private.items():
            member = _PUBLIC_JWK[kty](key.public_key(), as_dict=True)
            keys.append({**member, "kid": kid, "use": "sig"})
        return {"keys": [*keys, *self.extra_members]}

    def config(self, **fields: Any) -> dict[str, Any]:
        """An ``OTC_AUTH_OAUTH_ISSUERS`` entry for this issuer; ``fields`` add or override."""
        return {"issuer": self.issuer, "jwks_uri": self.jwks_uri, **fields}

    def make_token(self, *, audience: str | list[str], alg: str = "RS256", ttl: int = 300,
                   scopes: list[str] | None = None, kid: str | None = None,
                   headers: dict[str, Any] | None = None, now: float | None = None,
                   **claims: Any) -> str:
        """An access token signed with the current key for ``alg`` (``kid=`` to name another)."""
        kty = _KEY_OF_ALG[alg]
        issued = int(time.time() if now is None else now)
        payload: dict[str, Any] = {"iss": self.issuer, "aud": audience, "iat": issued,
                                   "exp": issued + ttl, "sub": DEFAULT_SUBJECT}
        if scopes is not None:
            payload["scope"] = " ".join(scopes)
        payload.update(claims)
        signing_kid = self.kid(kty)
        header = {"kid": signing_kid if kid is None else kid, **(headers or {})}
        return jwt.encode(payload, self.private[signing_kid][1], algorithm=alg, headers=header)

    def stop(self) -> None:
        """Stop serving (connections are then refused); calling it again does nothing."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()


def make_oauth_token(app: Flask, issuer: LocalIssuer, **options: Any) -> str:
    """A token ``app`` accepts from ``issuer``: its audience is the app's
    ``OTC_AUTH_OAUTH_RESOURCE``; ``scopes=[...]``, ``alg=``, ``ttl=`` and claims as given."""
    options.setdefault("audience", _settings(app).of(OAUTH).resource)
    return issuer.make_token(**options)


@pytest.fixture
def otc_oauth_issuer() -> Iterator[LocalIssuer]:
    """A :class:`LocalIssuer` for one test, stopped after it."""
    issuer = LocalIssuer()
    try:
        yield issuer
    finally:
        issuer.stop()
