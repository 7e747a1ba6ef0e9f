"""Step-up authentication (RFC 9470) for views and tools, through the Flask test client.

The values are the RFC's own: ``acr_values="myACR"`` (section 3, figure 2) and ``max_age="5"``
(section 3, figure 3), with their error descriptions.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask

from flask_otcauth import OTCAuth, current_identity, require_auth
from flask_otcauth.testing import LocalIssuer

from ..conftest import base_config
from ..helpers import API_KEY, assert_refused, make_token
from ..helpers import bearer as bearer_headers
from .conftest import CHALLENGE, RESOURCE, bearer

STRONGER = 'error="insufficient_user_authentication", error_description="A different ' \
           'authentication level is required"'
RECENT = 'error="insufficient_user_authentication", error_description="More recent ' \
         'authentication is required"'


def step_up_app(issuer: LocalIssuer | None, **overrides: Any) -> Flask:
    """oauth (when ``issuer``), jwt and api_key; views with step-up, and a tool call."""
    methods = (["oauth"] if issuer is not None else []) + ["jwt", "api_key"]
    extra = ({"OTC_AUTH_OAUTH_RESOURCE": RESOURCE, "OTC_AUTH_OAUTH_ISSUERS": [issuer.config()]}
             if issuer is not None else {})
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_METHODS=methods, **extra, **overrides))
    auth = OTCAuth()
    auth.tool("Admin.*", acr_values=["myACR"], max_age=5)
    auth.init_app(app)

    @app.get("/strong")
    @require_auth(acr_values=["myACR"])
    def strong() -> dict[str, Any]:
        return {"acr": current_identity.claims.get("acr")}

    @app.get("/recent")
    @require_auth(max_age=5)
    def recent() -> dict[str, Any]:
        return {"auth_time": current_identity.claims.get("auth_time")}

    @app.post("/tools/call")
    @require_auth
    def call_tool() -> dict[str, Any]:
        return {"called": True}

    @app.get("/tools")
    @require_auth
    def list_tools() -> dict[str, Any]:
        return {"items": auth.callable_tools([{"id": "Admin.Reset@1.0.0"},
                                              {"id": "Math.Add@1.0.0"}])}

    return app


def call(app: Flask, tool: str, headers: dict[str, str]) -> Any:
    return app.test_client().post("/tools/call", data=json.dumps(
        {"request": {"tool_id": tool}}), headers={**headers, "Content-Type": "application/json"})


def test_an_oauth_token_with_another_acr_gets_the_rfc_9470_challenge(
        issuer: LocalIssuer) -> None:
    """RFC 9470 section 3, figure 2: acr_values names what the new token must carry."""
    token = issuer.make_token(audience=RESOURCE, acr="weak", auth_time=int(time.time()))

    response = step_up_app(issuer).test_client().get("/strong", headers=bearer(token))

    assert_refused(response, 401, "insufficient_user_authentication",
                   challenges=[f'{CHALLENGE}, {STRONGER}, acr_values="myACR"'])


def test_an_oauth_token_with_the_acr_passes(issuer: LocalIssuer) -> None:
    token = issuer.make_token(audience=RESOURCE, acr="myACR")

    response = step_up_app(issuer).test_client().get("/strong", headers=bearer(token))

    assert response.json == {"acr": "myACR"}


def test_an_old_authentication_gets_the_max_age_challenge(issuer: LocalIssuer) -> None:
    """RFC 9470 section 3, figure 3: max_age="5", the authentication being 60 s old."""
    token = issuer.make_token(audience=RESOURCE, auth_time=int(time.time()) - 60)

    response = step_up_app(issuer).test_client().get("/recent", headers=bearer(token))

    assert_refused(response, 401, "insufficient_user_authentication",
                   challenges=[f'{CHALLENGE}, {RECENT}, max_age="5"'])


def test_an_oauth_token_without_auth_time_is_too_old(issuer: LocalIssuer) -> None:
    """RFC 9470 section 6.1: the resource server needs auth_time to judge recency."""
    token = issuer.make_token(audience=RESOURCE)

    response = step_up_app(issuer).test_client().get("/recent", headers=bearer(token))

    assert response.status_code == 401


def test_a_recent_authentication_passes(issuer: LocalIssuer) -> None:
    now = int(time.time())
    token = issuer.make_token(audience=RESOURCE, auth_time=now - 2)

    assert step_up_app(issuer).test_client().get(
        "/recent", headers=bearer(token)).json == {"auth_time": now - 2}


def test_a_tool_challenge_names_both_its_acr_values_and_max_age(issuer: LocalIssuer) -> None:
    """RFC 9470 section 3: both parameters MAY occur in one challenge; ours names all the
    requirement holds, so one new token meets it."""
    token = issuer.make_token(audience=RESOURCE, acr="myACR", auth_time=int(time.time()) - 60)

    response = call(step_up_app(issuer), "Admin.Reset", bearer(token))

    assert_refused(response, 401, "insufficient_user_authentication",
                   challenges=[f'{CHALLENGE}, {RECENT}, acr_values="myACR", max_age="5"'])


def test_a_tool_met_by_a_fresh_strong_token_runs(issuer: LocalIssuer) -> None:
    token = issuer.make_token(audience=RESOURCE, acr="myACR", auth_time=int(time.time()))

    assert call(step_up_app(issuer), "Admin.Reset", bearer(token)).json == {"called": True}
    assert call(step_up_app(issuer), "Math.Add", bearer(issuer.make_token(
        audience=RESOURCE))).json == {"called": True}


def test_an_otc_token_that_carries_acr_is_challenged_with_its_own_scheme() -> None:
    token = make_token(aud="otc-client", acr="weak")

    response = step_up_app(None).test_client().get("/strong", headers=bearer_headers(token))

    assert_refused(response, 401, "insufficient_user_authentication",
                   challenges=[f'Bearer realm="otc", {STRONGER}, acr_values="myACR"'])


@pytest.mark.parametrize("headers", [
    {"OTC-API-Key": API_KEY}, bearer_headers(make_token(aud="otc-client")),
], ids=["api-key", "otc-token-without-acr"])
def test_a_credential_without_user_authentication_is_403_saying_why(
        headers: dict[str, str]) -> None:
    app = step_up_app(None)

    for response in (app.test_client().get("/strong", headers=headers),
                     call(app, "Admin.Reset", headers)):
        assert_refused(response, 403, "authentication_context_required",
                       hint="proves no user sign-in", challenges=[])


def test_a_listing_hides_step_up_tools_from_credentials_that_can_never_step_up(
        issuer: LocalIssuer) -> None:
    app = step_up_app(issuer)
    token = issuer.make_token(audience=RESOURCE)

    by_key = app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY}).json
    by_token = app.test_client().get("/tools", headers=bearer(token)).json

    assert by_key == {"items": [{"id": "Math.Add@1.0.0"}]}
    assert by_token == {"items": [{"id": "Admin.Reset@1.0.0"}, {"id": "Math.Add@1.0.0"}]}


def test_the_setting_declares_a_tools_step_up(issuer: LocalIssuer) -> None:
    app = step_up_app(issuer, OTC_AUTH_TOOL_STEP_UP={"Math.Divide": {"max_age": 5}})
    old = issuer.make_token(audience=RESOURCE, auth_time=int(time.time()) - 60)

    assert_refused(call(app, "Math.Divide", bearer(old)), 401,
                   "insufficient_user_authentication",
                   challenges=[f'{CHALLENGE}, {RECENT}, max_age="5"'])


def test_step_up_refusals_are_the_callers_never_failed_attempts(issuer: LocalIssuer) -> None:
    """The token verified: a 401 of RFC 9470 charges its holder, not the address, which a
    failure limit of 1 would otherwise lock out after the first challenge."""
    app = step_up_app(issuer, OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    weak = issuer.make_token(audience=RESOURCE, acr="weak")
    client = app.test_client()

    statuses = [client.get("/strong", headers=bearer(weak)).status_code for _ in range(3)]
    statuses += [client.get("/strong", headers={"OTC-API-Key": API_KEY}).status_code]

    assert statuses == [401, 401, 401, 403]
    assert client.get("/strong", headers=bearer(issuer.make_token(
        audience=RESOURCE, acr="myACR"))).status_code == 200


def test_optional_views_cannot_require_a_user_authentication() -> None:
    with pytest.raises(ValueError, match="optional=True"):
        require_auth(optional=True, max_age=5)
