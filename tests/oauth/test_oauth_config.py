"""The oauth settings refused at init_app, each with the key named."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from flask_otcauth import OTCAuth, OTCAuthConfigError
from flask_otcauth.testing import LocalIssuer

from ..conftest import base_config
from .conftest import RESOURCE


def init(**settings: Any) -> Flask:
    app = Flask(__name__)
    config = base_config(OTC_AUTH_METHODS=["oauth"], OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
                         OTC_AUTH_OAUTH_ISSUERS=[{"issuer": "https://id.example.com"}])
    config.update(settings)
    app.config.update(config)
    OTCAuth(app)
    return app


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "none"])
def test_a_symmetric_algorithm_or_none_is_refused(algorithm: str) -> None:
    with pytest.raises(OTCAuthConfigError, match=r"OTC_AUTH_OAUTH_ISSUERS\[0\].algorithms"):
        init(OTC_AUTH_OAUTH_ISSUERS=[{"issuer": "https://id.example.com",
                                      "algorithms": ["RS256", algorithm]}])


@pytest.mark.parametrize("resource", ["http://tools.example.com", "ftp://tools.example.com",
                                      "https://tools.example.com/mcp?x=1",
                                      "https://tools.example.com/#f", "tools.example.com"])
def test_a_resource_that_is_not_https_is_refused(resource: str) -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_OAUTH_RESOURCE"):
        init(OTC_AUTH_OAUTH_RESOURCE=resource)


@pytest.mark.parametrize("resource", ["http://127.0.0.1:8000/mcp", "http://localhost:5000",
                                      "http://[::1]:8000"])
def test_a_loopback_resource_may_be_http(resource: str) -> None:
    init(OTC_AUTH_OAUTH_RESOURCE=resource)


def test_oauth_enabled_without_a_resource_is_refused() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_OAUTH_RESOURCE is not set"):
        init(OTC_AUTH_OAUTH_RESOURCE=None)


def test_oauth_enabled_without_issuers_is_refused() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_OAUTH_ISSUERS is empty"):
        init(OTC_AUTH_OAUTH_ISSUERS=[])


@pytest.mark.parametrize("entry", [
    {"issuer": "https://id.example.com", "jwks_uri": "http://id.example.com/jwks"},
    {"issuer": "http://id.example.com"},  # discovery over http
    {"issuer": "https://id.example.com", "jwks_uri": "https://id.example.com/k",
     "jwks": {"keys": []}},
    {"issuer": "https://id.example.com", "unknown": 1},
    {"issuer": ""},
    {"issuer": "https://id.example.com", "audiences": []},
    {"issuer": "https://id.example.com", "token_type": "JWT"},
    {"issuer": "https://id.example.com", "leeway": 600},
    {"issuer": "https://id.example.com", "clock_skew": 301},
    "https://id.example.com",
])
def test_a_wrong_issuer_entry_is_refused(entry: Any) -> None:
    with pytest.raises(OTCAuthConfigError, match=r"OTC_AUTH_OAUTH_ISSUERS\[0\]"):
        init(OTC_AUTH_OAUTH_ISSUERS=[entry])


def test_an_issuer_named_twice_is_refused() -> None:
    entry = {"issuer": "https://id.example.com"}
    with pytest.raises(OTCAuthConfigError, match="names an issuer twice"):
        init(OTC_AUTH_OAUTH_ISSUERS=[entry, dict(entry)])


def test_a_static_set_with_private_members_is_refused_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    keys = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "private"}]}
    with caplog.at_level(logging.WARNING, logger="flask_otcauth"), pytest.raises(
            OTCAuthConfigError, match="private key members"):
        init(OTC_AUTH_OAUTH_ISSUERS=[{"issuer": "https://id.example.com", "jwks": keys}])
    assert "private or symmetric key material" in caplog.text


def test_offline_access_is_never_advertised() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_OAUTH_SCOPES_SUPPORTED"):
        init(OTC_AUTH_OAUTH_SCOPES_SUPPORTED=["tools:list", "offline_access"])


def test_the_issuer_keys_are_checked_when_oauth_is_not_enabled() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_OAUTH_ISSUERS"):
        init(OTC_AUTH_METHODS=["api_key"],
             OTC_AUTH_OAUTH_ISSUERS=[{"issuer": "https://id.example.com",
                                      "algorithms": ["HS256"]}])


def test_check_describes_the_oauth_settings(issuer: LocalIssuer) -> None:
    app = init(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])

    result = app.test_cli_runner().invoke(args=["otcauth", "check"])

    assert f"oauth: resource {RESOURCE}, issuers: {issuer.issuer}" in result.output
