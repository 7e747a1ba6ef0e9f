"""Attacks around the credential: other methods and spellings of a URL, forged proxy headers."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_otcauth import require_auth

from ..conftest import AppFactory
from ..forge import forge
from ..helpers import API_KEY, bearer
from .support import assert_refused

FAILURES_ALLOWED = 3


def test_head_on_a_protected_view(client: FlaskClient) -> None:
    response = client.head("/tools")
    assert response.status_code == 401
    assert response.get_data() == b""
    assert response.mimetype == "application/json"
    assert len(response.headers.getlist("WWW-Authenticate")) == 2


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
    assert_refused(client.get("/listed"), 401, "missing_credentials")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_other_method_on_a_protected_view(client: FlaskClient, method: str) -> None:
    response = client.open("/tools", method=method)
    assert response.status_code == 405  # routing answers before the view, with no data


def test_method_override_header(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"X-HTTP-Method-Override": "OPTIONS"})
    assert_refused(response, 401, "missing_credentials")


@pytest.mark.parametrize("path", ["/tools/", "//tools", "/TOOLS", "/tools%2f", "/./tools",
                                  "/tools;x", "/%74ools", "/tools/..", "/open/../tools",
                                  "/tools%00", "/tools.json", "/tools%20"])
def test_path_spelling_variants_under_protect_all(make_app: AppFactory, path: str) -> None:
    client = make_app(OTC_AUTH_PROTECT_ALL=True).test_client()
    assert_refused(client.get(path), 401, "missing_credentials")


@pytest.mark.parametrize("path", ["/tools/", "//tools", "/TOOLS", "/./tools", "/tools%2f"])
def test_path_spelling_variants_never_reach_a_protected_view(client: FlaskClient,
                                                               path: str) -> None:
    response = client.get(path)
    assert response.status_code in (401, 404)
    assert b'"method"' not in response.get_data()


def test_spoofed_x_forwarded_for_does_not_reset_the_failure_limit(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT=f"{FAILURES_ALLOWED}/minute").test_client()
    for attempt in range(FAILURES_ALLOWED):
        response = client.get("/tools", headers={"OTC-API-Key": f"guess-{attempt}-" + "x" * 30,
                                                 "X-Forwarded-For": f"203.0.113.{attempt}"})
        assert_refused(response, 401, "invalid_api_key")
    response = client.get("/tools", headers={"OTC-API-Key": API_KEY,
                                             "X-Forwarded-For": "198.51.100.77"})
    assert_refused(response, 429, "too_many_failed_attempts", presented=API_KEY)
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
    assert_refused(blocked, 429, "too_many_failed_attempts")
    other = client.get("/tools", headers={"OTC-API-Key": API_KEY,
                                          "X-Forwarded-For": "203.0.113.2"})
    assert other.status_code == 200


def test_credentials_over_plain_http(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_REQUIRE_HTTPS=True).test_client()
    token = forge()
    body = assert_refused(client.get("/tools", headers=bearer(token)), 403, "https_required",
                          presented=token)
    assert "HTTPS" in body["message"]


def test_spoofed_x_forwarded_proto_without_proxy_fix(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_REQUIRE_HTTPS=True).test_client()
    response = client.get("/tools", headers={"OTC-API-Key": API_KEY, "X-Forwarded-Proto": "https"})
    assert_refused(response, 403, "https_required", presented=API_KEY)
