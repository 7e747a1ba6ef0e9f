"""OpenAPI security schemes: the server documents which methods it supports (an OTC MUST)."""

from __future__ import annotations

from flask import Flask

from flask_otcauth import OTCAuth
from flask_otcauth.core.methods import BUILT_IN
from flask_otcauth.core.openapi import security_schemes
from flask_otcauth.core.settings import load_settings

from ..conftest import AppFactory, base_config
from ..helpers import HMAC_CLIENT, HMAC_SECRET


def test_every_built_in_method_has_a_security_scheme() -> None:
    config = {**base_config(), "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: HMAC_SECRET},
              "OTC_AUTH_OAUTH_RESOURCE": "https://tools.example.com",
              "OTC_AUTH_OAUTH_ISSUERS": [{"issuer": "https://id.example.com"}],
              "OTC_AUTH_MTLS_SOURCE": "tls",
              "OTC_AUTH_MTLS_RULES": [{"cn": "agent", "scopes": []}],
              "OTC_AUTH_METHODS": [method.name for method in BUILT_IN]}

    schemes = security_schemes(load_settings(config))

    assert list(schemes) == [method.name for method in BUILT_IN]
    assert all(scheme["type"] in ("http", "apiKey", "mutualTLS")
               for scheme in schemes.values())


def test_jwt_is_an_http_bearer_scheme_with_jwt_format(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["jwt"], OTC_AUTH_JWT_MAX_LIFETIME=600)

    scheme = app.extensions["otcauth"].openapi_security_schemes(app)

    assert list(scheme) == ["jwt"]
    assert scheme["jwt"]["type"] == "http"
    assert scheme["jwt"]["scheme"] == "bearer"
    assert scheme["jwt"]["bearerFormat"] == "JWT"
    assert "600 seconds" in scheme["jwt"]["description"]


def test_api_key_is_an_api_key_scheme_in_the_otc_header(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["api_key"])

    scheme = app.extensions["otcauth"].openapi_security_schemes(app)["api_key"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "OTC-API-Key")


def test_api_key_scheme_names_the_first_configured_header(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEY_HEADERS=["X-Tool-Key"])

    scheme = app.extensions["otcauth"].openapi_security_schemes(app)["api_key"]

    assert scheme["name"] == "X-Tool-Key"


def test_hmac_is_described_as_the_signature_header_with_its_profile(
        make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["hmac"], OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: HMAC_SECRET},
                   OTC_AUTH_HMAC_MAX_AGE=120)

    scheme = app.extensions["otcauth"].openapi_security_schemes(app)["hmac"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Signature")
    for part in ("RFC 9421", "hmac-sha256", "`Signature-Input`", "keyid", "nonce",
                 '"@method" "@authority" "@path" "@query" "content-digest"',
                 "`Content-Digest` (RFC 9530", "older than 120 seconds", "reused nonces",
                 "401 Unauthorized"):
        assert part in scheme["description"], part


def test_security_requirement_offers_each_enabled_method_in_order(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["api_key", "jwt"])

    assert app.extensions["otcauth"].openapi_security(app) == [{"api_key": []}, {"jwt": []}]


def test_no_auth_documents_no_schemes_and_no_requirement(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["none"])
    auth = app.extensions["otcauth"]

    assert auth.openapi_security_schemes(app) == {}
    assert auth.openapi_security(app) == []


def test_schemes_default_to_the_current_app() -> None:
    app = Flask(__name__)
    app.config.update(base_config())
    auth = OTCAuth(app)

    with app.app_context():
        assert set(auth.openapi_security_schemes()) == {"jwt", "api_key"}
