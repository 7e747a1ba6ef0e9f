"""The shape of every refusal: JSON body, WWW-Authenticate challenges, no-store, no secrets."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ..helpers import API_KEY, AUDIENCE, JWT_SECRET, OTHER_API_KEY, api_key, bearer, make_token


def test_401_body_has_error_message_and_developer_message(client: FlaskClient) -> None:
    response = client.get("/tools")
    assert response.mimetype == "application/json"
    assert response.json is not None
    assert set(response.json) == {"error", "message", "developer_message"}


def test_401_is_not_cached(client: FlaskClient) -> None:
    assert client.get("/tools").headers["Cache-Control"] == "no-store"


def test_401_without_credentials_challenges_every_enabled_method(client: FlaskClient) -> None:
    challenges = client.get("/tools").headers.getlist("WWW-Authenticate")
    assert challenges == ['Bearer realm="otc"', 'APIKey realm="otc", header="OTC-API-Key"']


def test_bad_token_challenge_says_invalid_token(client: FlaskClient) -> None:
    challenges = client.get("/tools", headers=bearer("x.y.z")).headers.getlist("WWW-Authenticate")
    assert challenges[0].startswith('Bearer realm="otc", error="invalid_token", error_description=')


def test_bad_key_leaves_the_bearer_challenge_without_error(client: FlaskClient) -> None:
    response = client.get("/tools", headers=api_key(OTHER_API_KEY))
    assert response.headers.getlist("WWW-Authenticate")[0] == 'Bearer realm="otc"'


@pytest.mark.parametrize(
    "headers",
    [api_key(OTHER_API_KEY), bearer(make_token(ttl=-5, aud=AUDIENCE)),
     bearer(make_token("wrong-secret-wrong-secret-wrong-secret", aud=AUDIENCE)),
     bearer(make_token(aud="foreign"))],
)
def test_refusal_never_echoes_the_credential(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/tools", headers=headers)
    text = response.get_data(as_text=True) + str(response.headers)
    credential = next(iter(headers.values())).removeprefix("Bearer ")
    for secret in (credential, API_KEY, JWT_SECRET, OTHER_API_KEY):
        assert secret not in text


def test_refusal_logs_never_carry_the_credential(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token(aud="foreign")
    with caplog.at_level("DEBUG", logger="flask_otcauth"):
        client.get("/tools", headers={**bearer(token), **api_key(OTHER_API_KEY)})
        client.get("/tools", headers=api_key(API_KEY + "x"))
    assert caplog.records
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged
    assert OTHER_API_KEY not in logged
    assert API_KEY not in logged


def test_success_response_is_untouched(client: FlaskClient) -> None:
    response = client.get("/tools", headers=api_key())
    assert "WWW-Authenticate" not in response.headers
    assert "Cache-Control" not in response.headers
