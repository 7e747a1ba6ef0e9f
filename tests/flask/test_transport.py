"""OTC_AUTH_REQUIRE_HTTPS: credentials over plain HTTP are refused unchecked; HSTS over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_otcauth import OTCAuth, OTCAuthConfigError, require_auth
from flask_otcauth.core.settings import load_settings
from flask_otcauth.transport import HSTS_VALUE

from ..conftest import AppFactory, base_config
from ..helpers import API_KEY, api_key, assert_refused, bearer, make_token

HTTPS = {"base_url": "https://localhost"}


@pytest.fixture
def client(make_app: AppFactory) -> FlaskClient:
    return make_app(OTC_AUTH_REQUIRE_HTTPS=True).test_client()


# A refusal over plain HTTP names ProxyFix and carries no WWW-Authenticate (challenges=[]): no
# invitation to retry over HTTP.
@pytest.mark.parametrize("headers", [api_key(), bearer(make_token(sub="a"))])
def test_valid_credential_over_plain_http_is_403(client: FlaskClient,
                                                 headers: dict[str, str]) -> None:
    assert_refused(client.get("/tools", headers=headers), 403, "https_required", hint="ProxyFix",
                   challenges=[])


@pytest.mark.parametrize("headers", [api_key("wrong-" * 8), {"OTC-API-Key": "a, b"},
                                     bearer("not-a-token")])
def test_invalid_credential_over_plain_http_is_403_before_it_is_checked(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    assert_refused(client.get("/tools", headers=headers), 403, "https_required", hint="ProxyFix",
                   challenges=[])


def test_credential_over_https_is_accepted_with_hsts(client: FlaskClient) -> None:
    response = client.get("/tools", headers=api_key(), **HTTPS)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == HSTS_VALUE


def test_refusal_over_https_carries_hsts(client: FlaskClient) -> None:
    response = client.get("/tools", **HTTPS)
    assert response.status_code == 401
    assert response.headers["Strict-Transport-Security"] == HSTS_VALUE


def test_no_credential_over_plain_http_gets_the_usual_401(client: FlaskClient) -> None:
    response = client.get("/tools")
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "missing_credentials"
    assert "Strict-Transport-Security" not in response.headers  # ignored over HTTP anyway


def test_anonymous_caller_of_an_optional_view_over_plain_http_is_let_in(
    client: FlaskClient,
) -> None:
    assert client.get("/optional").json == {"identity": None}


def test_open_views_get_no_hsts(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/open", **HTTPS).headers


def test_forwarded_proto_is_ignored_without_proxy_fix(client: FlaskClient) -> None:
    response = client.get("/tools", headers={**api_key(), "X-Forwarded-Proto": "https"})
    assert_refused(response, 403, "https_required", hint="ProxyFix", challenges=[])


def test_forwarded_proto_counts_through_proxy_fix(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_REQUIRE_HTTPS=True)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    response = app.test_client().get("/tools",
                                     headers={**api_key(), "X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == HSTS_VALUE


def test_an_apps_own_hsts_value_wins(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_REQUIRE_HTTPS=True)

    @app.after_request
    def talisman_like(response: Response) -> Response:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; preload"
        return response

    response = app.test_client().get("/tools", headers=api_key(), **HTTPS)
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; preload"


def test_off_lets_credentials_in_over_plain_http(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_REQUIRE_HTTPS=False).test_client()
    response = client.get("/tools", headers=api_key())
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def production_config(**overrides: Any) -> dict[str, Any]:
    config = base_config()
    del config["TESTING"]
    return {**config, **overrides}


def test_default_is_on_in_production() -> None:
    assert load_settings(production_config()).require_https is True


@pytest.mark.parametrize("flag", ["DEBUG", "TESTING"])
def test_default_is_off_under_debug_or_testing(flag: str) -> None:
    assert load_settings(production_config(**{flag: True})).require_https is False


def test_explicit_setting_wins_over_testing() -> None:
    assert load_settings(base_config(OTC_AUTH_REQUIRE_HTTPS=True)).require_https is True


def test_non_boolean_setting_is_refused_at_startup() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_REQUIRE_HTTPS must be true or false"):
        load_settings(base_config(OTC_AUTH_REQUIRE_HTTPS="yes"))


def test_production_app_refuses_api_key_over_http_without_echoing_it() -> None:
    app = Flask(__name__)
    app.config.update(production_config())
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def tools() -> str:
        return "tools"

    response = app.test_client().get("/tools", headers=api_key())
    assert_refused(response, 403, "https_required", hint="ProxyFix", challenges=[],
                   presented=API_KEY)
