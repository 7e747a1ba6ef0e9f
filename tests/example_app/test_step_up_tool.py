"""Math.Evaluate, the example's sensitive tool: its RFC 9470 step-up (acr "phr", a sign-in at
most 300 s old), declared by the example with ``auth.tool``, through HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from example_app import create_app
from example_app.app import STEP_UP_ACR, STEP_UP_MAX_AGE
from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from .support import ALL_TOOLS, call_body, key_headers, mint, settings

EVALUATE: Final = "Math.Evaluate@1.0.0"
RESOURCE: Final = "https://tools.example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(acr: str = STEP_UP_ACR, age: int = 0) -> dict[str, str]:
    """A jwt token of a user who signed in ``age`` seconds ago with ``acr``."""
    return bearer(mint(acr=acr, auth_time=int(time.time()) - age))


def evaluate(app: Flask, expression: object, headers: dict[str, str]) -> TestResponse:
    return app.test_client().post("/tools/call", headers=headers,
                                  json=call_body("Math.Evaluate", {"expression": expression}))


def listed(app: Flask, headers: dict[str, str]) -> list[str]:
    response = app.test_client().get("/tools", headers=headers)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]  # type: ignore[index]


def challenge(description: str, acr_values: str = STEP_UP_ACR,
              max_age: int = STEP_UP_MAX_AGE) -> str:
    """RFC 9470 section 3: the jwt scheme's challenge with every parameter of the tool's need."""
    return (f'Bearer realm="otc", error="insufficient_user_authentication", '
            f'error_description="{description}", acr_values="{acr_values}", '
            f'max_age="{max_age}"')


def test_a_token_with_the_acr_and_a_fresh_sign_in_evaluates(app: Flask) -> None:
    response = evaluate(app, "(2 + 3) * -4 ** 2", signed_in(age=STEP_UP_MAX_AGE - 10))

    assert response.status_code == 200, response.json
    assert response.json["result"]["value"] == -80  # type: ignore[index]


def test_an_oauth_token_with_the_acr_evaluates(otc_oauth_issuer: LocalIssuer) -> None:
    app = oauth_app(otc_oauth_issuer)
    token = otc_oauth_issuer.make_token(audience=RESOURCE, scopes=ALL_TOOLS, acr=STEP_UP_ACR,
                                        auth_time=int(time.time()))

    response = evaluate(app, "2 ** 10 / 4", bearer(token))

    assert response.status_code == 200, response.json
    assert response.json["result"]["value"] == 256  # type: ignore[index]


def test_an_oauth_token_of_another_acr_gets_the_rfc_9470_challenge(
        otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9470 section 3, behind the RFC 9728 resource_metadata of the oauth scheme."""
    token = otc_oauth_issuer.make_token(audience=RESOURCE, scopes=ALL_TOOLS, acr="pwd",
                                        auth_time=int(time.time()))

    response = evaluate(oauth_app(otc_oauth_issuer), "1 + 1", bearer(token))

    assert_refused(response, 401, "insufficient_user_authentication", challenges=[
        f'Bearer resource_metadata="{RESOURCE}/.well-known/oauth-protected-resource", '
        + challenge("A different authentication level is required").removeprefix(
            'Bearer realm="otc", ')])


def test_a_sign_in_older_than_max_age_gets_the_rfc_9470_challenge(app: Flask) -> None:
    response = evaluate(app, "1 + 1", signed_in(age=STEP_UP_MAX_AGE + 5))

    assert_refused(response, 401, "insufficient_user_authentication",
                   challenges=[challenge("More recent authentication is required")])


def test_a_token_of_another_acr_gets_the_rfc_9470_challenge(app: Flask) -> None:
    response = evaluate(app, "1 + 1", signed_in(acr="pwd"))

    assert_refused(response, 401, "insufficient_user_authentication",
                   challenges=[challenge("A different authentication level is required")])


def test_an_api_key_is_403_saying_it_proves_no_sign_in(app: Flask) -> None:
    response = evaluate(app, "1 + 1", key_headers())

    assert_refused(response, 403, "authentication_context_required",
                   hint="proves no user sign-in")


def test_a_token_without_acr_or_auth_time_is_403_saying_why(app: Flask) -> None:
    assert_refused(evaluate(app, "1 + 1", bearer(mint())), 403,
                   "authentication_context_required", hint="proves no user sign-in")


@pytest.mark.parametrize("headers", [key_headers(), bearer(mint())], ids=["api_key", "jwt"])
def test_a_credential_that_can_never_step_up_is_not_offered_the_tool(
        app: Flask, headers: dict[str, str]) -> None:
    tools = listed(app, headers)

    assert EVALUATE not in tools
    assert "Math.Add@1.0.0" in tools


def test_a_token_that_could_step_up_is_offered_the_tool(app: Flask) -> None:
    """An RFC 9470 client signs in again on the challenge: a weak acr still sees the tool."""
    assert EVALUATE in listed(app, signed_in(acr="pwd", age=10_000))


def test_the_step_up_setting_replaces_the_example_acr_values(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(OTC_AUTH_TOOL_STEP_UP={"Math.Evaluate": {"acr_values": ["myACR"]}})

    assert_refused(evaluate(app, "1 + 1", signed_in()), 401,
                   "insufficient_user_authentication",
                   challenges=[challenge("A different authentication level is required",
                                         acr_values="myACR")])
    assert evaluate(app, "1 + 1", signed_in(acr="myACR")).status_code == 200


@pytest.mark.parametrize(("expression", "message"), [
    ("__import__('os').system('id')", "not arithmetic"),
    ("2 < 3", "not arithmetic"),
    ("x + 1", "not arithmetic"),
    ("1 +", "not arithmetic"),
    ("True + 1", "not arithmetic"),
    ("2 ** 65", "limited to 64"),
    ("1 / (2 - 2)", "divide by zero"),
    ("(-8) ** 0.5", "not a real number"),
    ("9e300 * 9e300", "too large"),
])
def test_a_bad_expression_is_a_tool_error(app: Flask, expression: str, message: str) -> None:
    response = evaluate(app, expression, signed_in())

    assert response.status_code == 200, response.json
    result: dict[str, Any] = response.json["result"]  # type: ignore[index]
    assert result["success"] is False
    assert message in result["error"]["message"].lower()


@pytest.mark.parametrize("expression", ["1+" * 100 + "1", "", 12])
def test_an_expression_the_schema_refuses_is_422(app: Flask, expression: object) -> None:
    response = evaluate(app, expression, signed_in())

    assert response.status_code == 422, response.json
    assert list(response.json["parameter_errors"]) == ["expression"]  # type: ignore[index]


def oauth_app(issuer: LocalIssuer) -> Flask:
    """The example with oauth beside jwt and api_key (OTC_AUTH_OAUTH_ISSUERS set)."""
    return create_app(settings(OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
                               OTC_AUTH_OAUTH_ISSUERS=[issuer.config()]))
