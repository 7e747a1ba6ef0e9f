"""Attacks around the credential: other methods and spellings of a URL, forged proxy headers."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse

from flask_otcauth import require_auth

from ..conftest import AppFactory
from ..forge import forge
from ..helpers import API_KEY, assert_refused, bearer
from .support import API_KEY_CHALLENGE, BEARER_CHALLENGE, CREDENTIAL_CHALLENGES

FAILURES_ALLOWED = 3


def test_head_on_a_protected_view(client: FlaskClient) -> None:
    response = client.head("/tools")
    assert response.status_code == 401
    assert response.get_data() == b""
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.getlist("WWW-Authenticate") == [BEARER_CHALLENGE, API_KEY_CHALLENGE]


def test_options_preflight_reveals_nothing_of_the_view(client: FlaskClient) -> None:
    response = client.options("/tools")
    assert response.status_code == 200
    assert response.get_data() == b""
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


@pytest.mark.parametrize("protect_all", [False, True])
def test_options_on_a_view_that_lists_options_itself(make_app: AppFactory,
                                                     protect_all: bool) -> None:
    """The view would answer OPTIONS itself, so it must not run: Flask's default answer does."""
    app = make_app(OTC_AUTH_PROTECT_ALL=protect_all)

    def view() -> dict[str, list[str]]:
        return {"tools": ["secret-tool"]}

    app.add_url_rule("/listed", "listed", view if protect_all else require_auth(view),
                     methods=["GET", "OPTIONS"])
    client = app.test_client()
    response = client.options("/listed")
    assert response.status_code == 200
    assert response.get_data() == b""
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert_refused(client.get("/listed"), 401, "missing_credentials",
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_other_method_on_a_protected_view(make_app: AppFactory, method: str) -> None:
    app = make_app()
    calls: list[str] = []

    @app.get("/counted")
    @require_auth
    def counted() -> str:
        calls.append(method)
        return "ran"

    response = app.test_client().open("/counted", method=method)
    assert response.status_code == 405  # routing answers before the view, with no data
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.headers.getlist("WWW-Authenticate") == []
    assert b"ran" not in response.get_data()
    assert calls == []


def test_method_override_header(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"X-HTTP-Method-Override": "OPTIONS"})
    assert_refused(response, 401, "missing_credentials", challenge_prefixes=CREDENTIAL_CHALLENGES)


def served(client: FlaskClient, method: str, path: str) -> TestResponse:
    """``path`` as a server hands it to the app: PATH_INFO percent-decoded (PEP 3333), not
    parsed as a URL by the test client (which reads ``//tools`` as the host ``tools``)."""
    return client.open("/", method=method, environ_overrides={
        "PATH_INFO": unquote(path, encoding="latin-1"), "REQUEST_URI": path, "RAW_URI": path})


# Spellings of /tools, each with the view it reaches: Werkzeug merges slashes and decodes %74.
PATH_SPELLINGS = {
    "/tools/": None, "//tools": "tools", "///tools": "tools", "/TOOLS": None,
    "/tools%2f": None, "/./tools": None, "/tools;x": None, "/%74ools": "tools",
    "/tools/..": None, "/open/../tools": None, "/tools%00": None, "/tools.json": None,
    "/tools%20": None, "/tools//": None,
}


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
@pytest.mark.parametrize("path", list(PATH_SPELLINGS))
def test_path_spelling_variants_under_protect_all(make_app: AppFactory, path: str,
                                                  method: str) -> None:
    """Every spelling is 401, whatever the method: OPTIONS to a URL without a route too, as
    GET, instead of 404. A spelling that reaches the view gets its preflight answer."""
    client = make_app(OTC_AUTH_PROTECT_ALL=True).test_client()
    response = served(client, method, path)
    if method == "OPTIONS" and PATH_SPELLINGS[path] is not None:
        assert response.status_code == 200
        assert response.get_data() == b""
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    else:
        assert_refused(response, 401, "missing_credentials",
                       challenge_prefixes=CREDENTIAL_CHALLENGES)


@pytest.mark.parametrize("path", list(PATH_SPELLINGS))
def test_path_spelling_variants_never_reach_a_protected_view(client: FlaskClient,
                                                               path: str) -> None:
    """A spelling that reaches the view gets its 401; every other spelling is a 404."""
    response = served(client, "GET", path)
    if PATH_SPELLINGS[path] is not None:
        assert_refused(response, 401, "missing_credentials",
                       challenges=[BEARER_CHALLENGE, API_KEY_CHALLENGE])
    else:
        assert response.status_code == 404
        assert response.headers.getlist("WWW-Authenticate") == []
    assert b'"method"' not in response.get_data()


def test_spoofed_x_forwarded_for_does_not_reset_the_failure_limit(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT=f"{FAILURES_ALLOWED}/minute").test_client()
    for attempt in range(FAILURES_ALLOWED):
        response = client.get("/tools", headers={"OTC-API-Key": f"guess-{attempt}-" + "x" * 30,
                                                 "X-Forwarded-For": f"203.0.113.{attempt}"})
        assert_refused(response, 401, "invalid_api_key", challenge_prefixes=CREDENTIAL_CHALLENGES)
    response = client.get("/tools", headers={"OTC-API-Key": API_KEY,
                                             "X-Forwarded-For": "198.51.100.77"})
    assert_refused(response, 429, "too_many_failed_attempts", presented=API_KEY, challenges=[])
    assert int(response.headers["Retry-After"]) >= 1


def test_x_forwarded_for_is_trusted_only_through_proxy_fix(make_app: AppFactory) -> None:
    """With ProxyFix(x_for=1) the proxy's header names the client: each address has its own
    budget, which is why ProxyFix must count exactly the proxies in front (docs/security.md)."""
    app = make_app(OTC_AUTH_FAILURE_RATELIMIT=f"{FAILURES_ALLOWED}/minute")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    client = app.test_client()
    for _ in range(FAILURES_ALLOWED + 1):
        client.get("/tools", headers={"OTC-API-Key": "wrong-" + "x" * 30,
                                      "X-Forwarded-For": "203.0.113.1"})
    blocked = client.get("/tools", headers={"OTC-API-Key": API_KEY,
                                            "X-Forwarded-For": "203.0.113.1"})
    assert_refused(blocked, 429, "too_many_failed_attempts", challenges=[])
    other = client.get("/tools", headers={"OTC-API-Key": API_KEY,
                                          "X-Forwarded-For": "203.0.113.2"})
    assert other.status_code == 200


def test_credentials_over_plain_http(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_REQUIRE_HTTPS=True).test_client()
    token = forge()
    body = assert_refused(client.get("/tools", headers=bearer(token)), 403, "https_required",
                          presented=token, challenges=[])
    assert "HTTPS" in body["message"]


def test_spoofed_x_forwarded_proto_without_proxy_fix(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_REQUIRE_HTTPS=True).test_client()
    response = client.get("/tools", headers={"OTC-API-Key": API_KEY, "X-Forwarded-Proto": "https"})
    assert_refused(response, 403, "https_required", presented=API_KEY, challenges=[])
