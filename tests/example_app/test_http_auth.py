"""How the example app is protected: which routes need credentials, and which are accepted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .support import API_KEY, call_body, key_headers, mint

AppFactory = Callable[..., Flask]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_list_tools_without_credentials_is_401(client: FlaskClient) -> None:
    response = client.get("/tools")

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "missing_credentials"
    assert response.headers.getlist("WWW-Authenticate")


def test_call_without_credentials_is_401_even_with_a_malformed_body(client: FlaskClient) -> None:
    response = client.post("/tools/call", data="{broken", content_type="application/json")

    assert response.status_code == 401


def test_wrong_api_key_is_401(client: FlaskClient) -> None:
    response = client.get("/tools", headers=key_headers("x" * 40))

    assert response.status_code == 401


def test_jwt_bearer_token_lists_tools(client: FlaskClient) -> None:
    response = client.get("/tools", headers=_bearer(mint()))

    assert response.status_code == 200


def test_jwt_bearer_token_calls_a_tool(client: FlaskClient) -> None:
    response = client.post(
        "/tools/call", json=call_body("Math.Add", {"a": 1, "b": 2}), headers=_bearer(mint())
    )

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["result"]["value"] == 3


def test_expired_jwt_is_401(client: FlaskClient) -> None:
    response = client.get("/tools", headers=_bearer(mint(ttl=-60)))

    assert response.status_code == 401


def test_jwt_signed_with_another_secret_is_401(client: FlaskClient) -> None:
    response = client.get("/tools", headers=_bearer(mint("other-secret-" + "q" * 40)))

    assert response.status_code == 401


def test_oxp_api_key_header_of_the_renamed_spec_is_accepted(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"OXP-API-Key": API_KEY})

    assert response.status_code == 200


def test_auth_off_ignores_the_authorization_header(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["none"], OTC_AUTH_API_KEYS=[], OTC_AUTH_JWT_SECRET=None)

    response = app.test_client().get("/tools", headers=_bearer("junk"))

    assert response.status_code == 200


def test_calls_are_logged_with_the_subject_and_never_the_token(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = mint(sub="agent-42")
    caplog.set_level("INFO", logger="example_app")

    client.post("/tools/call", json=call_body("Math.Add", {"a": 1, "b": 2}), headers=_bearer(token))

    assert "agent-42" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_api_key_never_appears_in_the_logs(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")

    client.get("/tools", headers=key_headers())
    client.get("/tools", headers=key_headers(API_KEY[:-1] + "!"))

    assert API_KEY not in caplog.text
    assert API_KEY[:-1] not in caplog.text


def test_rate_limit_answers_429_with_retry_after(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="2/minute").test_client()

    statuses = [client.get("/tools", headers=key_headers()).status_code for _ in range(3)]
    response = client.get("/tools", headers=key_headers())

    assert statuses == [200, 200, 429]
    assert int(response.headers["Retry-After"]) > 0


def test_health_is_not_rate_limited(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="1/minute").test_client()

    statuses = {client.get("/health").status_code for _ in range(5)}

    assert statuses == {200}


def test_health_stays_open_when_the_app_protects_every_view(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_PROTECT_ALL=True).test_client()

    assert client.get("/health").status_code == 200
    assert client.get("/tools").status_code == 401
