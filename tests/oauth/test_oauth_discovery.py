"""RFC 9728 protected resource metadata and the challenges of the oauth method, through HTTP."""

from __future__ import annotations

import time

from flask import Flask

from flask_otcauth import OTCAuth
from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from .conftest import CHALLENGE, RESOURCE, bearer, oauth_app


def test_the_metadata_is_served_at_the_root_and_at_the_path_inserted_form(
        issuer: LocalIssuer) -> None:
    """RFC 9728 section 3.1: the well-known path, with the resource's path inserted."""
    app = oauth_app(issuer)  # the views live in a blueprint under /api
    client = app.test_client()

    inserted = client.get("/.well-known/oauth-protected-resource/mcp")
    root = client.get("/.well-known/oauth-protected-resource")

    assert inserted.status_code == root.status_code == 200
    assert inserted.json == root.json
    assert inserted.mimetype == "application/json"


def test_the_metadata_has_the_shape_of_rfc_9728_section_3_2(issuer: LocalIssuer) -> None:
    """RFC 9728 section 3.2's example response, with our values: resource,
    authorization_servers, scopes_supported, bearer_methods_supported."""
    app = oauth_app(issuer, OTC_AUTH_OAUTH_SCOPES_SUPPORTED=["tools:list", "tools:call:*"])

    document = app.test_client().get("/.well-known/oauth-protected-resource/mcp").json

    assert document == {
        "resource": RESOURCE,
        "authorization_servers": [issuer.issuer],
        "scopes_supported": ["tools:list", "tools:call:*"],
        "bearer_methods_supported": ["header"],
    }


def test_head_of_the_metadata_answers_without_a_body(issuer: LocalIssuer) -> None:
    response = oauth_app(issuer).test_client().head("/.well-known/oauth-protected-resource")

    assert response.status_code == 200
    assert response.data == b""


def test_the_resource_comes_from_configuration_never_from_the_host(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)

    document = app.test_client().get("/.well-known/oauth-protected-resource",
                                     headers={"Host": "evil.example.com"}).json

    assert document["resource"] == RESOURCE


def test_the_extension_returns_the_same_document(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    auth: OTCAuth = app.extensions["otcauth"]

    assert auth.protected_resource_metadata(app) == app.test_client().get(
        "/.well-known/oauth-protected-resource").json


def test_protect_all_leaves_the_metadata_open(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer, OTC_AUTH_PROTECT_ALL=True)

    assert app.test_client().get("/.well-known/oauth-protected-resource").status_code == 200


def test_no_metadata_is_served_when_oauth_is_not_enabled() -> None:
    app = Flask(__name__)
    app.config.update(TESTING=True, OTC_AUTH_METHODS=["api_key"],
                      OTC_AUTH_API_KEYS=["k" * 40], OTC_AUTH_RATELIMIT=None)
    OTCAuth(app)

    assert app.test_client().get("/.well-known/oauth-protected-resource").status_code == 404


def test_a_401_without_a_token_names_the_metadata_and_the_views_scope(
        issuer: LocalIssuer) -> None:
    """RFC 9728 section 5.1, RFC 6750 section 3: no error code when no token was sent."""
    response = oauth_app(issuer).test_client().get("/api/tools")

    assert_refused(response, 401, "missing_credentials",
                   challenges=[CHALLENGE + ', scope="tools:list"'])


def test_a_401_for_a_bad_token_says_invalid_token(issuer: LocalIssuer) -> None:
    token = issuer.make_token(audience="https://other.example.com")

    response = oauth_app(issuer).test_client().get("/api/tools", headers=bearer(token))

    assert_refused(response, 401, "invalid_token", challenges=[
        CHALLENGE + ', scope="tools:list", error="invalid_token", error_description="The '
        "token's aud does not name this resource server.\""])


def test_the_error_description_stays_one_quoted_string(issuer: LocalIssuer) -> None:
    """RFC 9110 section 5.6.4: a double quote inside would end the quoted-string early."""
    app = oauth_app(None, entry=issuer.config(token_type="at+jwt"))

    response = app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE)))

    assert_refused(response, 401, "invalid_token", challenges=[
        CHALLENGE + ', error="invalid_token", error_description="The token must be an RFC 9068 '
        "access token (typ 'at+jwt').\""])


def test_a_403_names_every_scope_the_request_needs_and_the_metadata(issuer: LocalIssuer) -> None:
    """RFC 6750 section 3.1: insufficient_scope with the scopes needed, not only the first."""
    token = issuer.make_token(audience=RESOURCE, scopes=["unrelated"])

    response = oauth_app(issuer).test_client().post("/api/call", headers=bearer(token))

    assert_refused(response, 403, "insufficient_scope", challenges=[
        CHALLENGE + ', error="insufficient_scope", scope="tools:list tools:call:Math.Add"'])


def test_a_wildcard_grant_satisfies_the_scopes(issuer: LocalIssuer) -> None:
    token = issuer.make_token(audience=RESOURCE, scopes=["tools:list", "tools:call:*"])

    assert oauth_app(issuer).test_client().post("/api/call",
                                                headers=bearer(token)).status_code == 200


def test_a_token_in_the_query_string_is_refused_even_beside_a_valid_header(
        issuer: LocalIssuer) -> None:
    """RFC 9700 section 2.4.2 (OAuth 2.1 drops the query parameter method)."""
    token = issuer.make_token(audience=RESOURCE, scopes=["tools:list"])

    response = oauth_app(issuer).test_client().get(f"/api/tools?access_token={token}",
                                                   headers=bearer(token))

    assert_refused(response, 401, "invalid_token", hint="never in the URL", presented=token)


def test_another_parameter_ending_in_access_token_is_not_a_token(issuer: LocalIssuer) -> None:
    token = issuer.make_token(audience=RESOURCE, scopes=["tools:list"])

    response = oauth_app(issuer).test_client().get("/api/tools?my_access_token=1",
                                                   headers=bearer(token))

    assert response.status_code == 200


def test_a_valid_token_is_accepted_again_from_the_cache(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, scopes=["tools:list"], now=time.time())
    client = app.test_client()

    assert [client.get("/api/tools", headers=bearer(token)).status_code
            for _ in range(3)] == [200, 200, 200]
    assert issuer.fetches == 1
