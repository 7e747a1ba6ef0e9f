"""The example server as an OAuth 2.1 resource server: on when OTC_AUTH_OAUTH_ISSUERS is set."""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
from flask import Flask

from example_app import create_app
from example_app.config import oauth_settings
from flask_otcauth.testing import LocalIssuer
from tests.example_app.support import ALL_TOOLS, call_body, key_headers, settings

RESOURCE: Final = "https://tools.example.com"


@pytest.fixture
def issuer(otc_oauth_issuer: LocalIssuer) -> LocalIssuer:
    """The pytest plugin's own local issuer, as a user's suite would use it."""
    return otc_oauth_issuer


def oauth_server(issuer: LocalIssuer, **overrides: Any) -> Flask:
    return create_app(settings(OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
                               OTC_AUTH_OAUTH_ISSUERS=[issuer.config()], **overrides))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_access_token_lists_and_calls_tools(issuer: LocalIssuer) -> None:
    client = oauth_server(issuer).test_client()
    token = issuer.make_token(audience=RESOURCE, scopes=ALL_TOOLS, alg="ES256")
    listed = client.get("/tools", headers=bearer(token))
    assert listed.status_code == 200, listed.json
    assert "Math.Add@1.0.0" in [item["id"] for item in listed.json["items"]]
    called = client.post("/tools/call", headers=bearer(token),
                         json=call_body("Math.Add@1.0.0", {"a": 2, "b": 3}))
    assert called.status_code == 200, called.json
    assert called.json["result"]["value"] == 5


def test_a_token_for_another_resource_is_refused_with_the_metadata_url(
        issuer: LocalIssuer) -> None:
    client = oauth_server(issuer).test_client()
    token = issuer.make_token(audience="https://other.example.com", scopes=ALL_TOOLS)
    response = client.get("/tools", headers=bearer(token))
    assert response.status_code == 401
    challenges = response.headers.getlist("WWW-Authenticate")
    assert any(value.startswith('Bearer resource_metadata="https://tools.example.com/.well-'
                                'known/oauth-protected-resource"') for value in challenges)


def test_the_server_publishes_its_protected_resource_metadata(issuer: LocalIssuer) -> None:
    # RFC 9728 section 3: the resource from configuration, this server's scopes.
    response = oauth_server(issuer).test_client().get("/.well-known/oauth-protected-resource")
    assert response.status_code == 200
    assert response.json == {"resource": RESOURCE, "authorization_servers": [issuer.issuer],
                             "bearer_methods_supported": ["header"],
                             "scopes_supported": ALL_TOOLS}


def test_api_keys_and_spec_tokens_keep_working_beside_oauth(issuer: LocalIssuer) -> None:
    client = oauth_server(issuer).test_client()
    assert client.get("/tools", headers=key_headers()).status_code == 200


def test_issuers_from_the_environment_turn_oauth_on(issuer: LocalIssuer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTC_AUTH_OAUTH_ISSUERS", json.dumps([issuer.config()]))
    monkeypatch.setenv("OTC_AUTH_OAUTH_RESOURCE", RESOURCE)
    app = create_app({"TESTING": True, "OTC_AUTH_RATELIMIT": None})
    assert app.config["OTC_AUTH_METHODS"] == ["oauth"]
    token = issuer.make_token(audience=RESOURCE, scopes=["tools:list"], alg="EdDSA")
    assert app.test_client().get("/tools", headers=bearer(token)).status_code == 200


def test_without_issuers_nothing_changes() -> None:
    assert oauth_settings(settings()) == {}
    app = create_app(settings())
    assert app.test_client().get("/.well-known/oauth-protected-resource").status_code == 404


def test_explicit_methods_gain_oauth_and_explicit_scopes_are_kept() -> None:
    config = {"OTC_AUTH_METHODS": ["api_key"], "OTC_AUTH_OAUTH_ISSUERS": [{"issuer": "x"}],
              "OTC_AUTH_OAUTH_SCOPES_SUPPORTED": ["tools:list"]}
    assert oauth_settings(config) == {"OTC_AUTH_METHODS": ["api_key", "oauth"]}
