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
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

import pytest

from .core.methods.base import TestRequest
from .core.methods.jwt import JWT, mint_token
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
