"""Several credentials in one request: ignored when not enabled, never rescued when invalid."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ..helpers import API_KEY, AUDIENCE, OTHER_API_KEY, api_key, bearer, make_token


def test_valid_jwt_and_valid_key_take_identity_from_the_preferred_method(
    client: FlaskClient,
) -> None:
    headers = {**bearer(make_token(sub="agent", aud=AUDIENCE)), **api_key()}
    response = client.get("/tools", headers=headers)
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["method"] == "jwt"


def test_method_order_decides_which_identity_wins(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_METHODS=["api_key", "jwt"]).test_client()
    headers = {**bearer(make_token(sub="agent", aud=AUDIENCE)), **api_key()}
    response = client.get("/tools", headers=headers)
    assert response.json is not None
    assert response.json["method"] == "api_key"


@pytest.mark.parametrize(("invalid", "error"), [("key", "invalid_api_key"),
                                               ("token", "invalid_token")])
def test_an_invalid_credential_is_not_rescued_by_a_valid_one(client: FlaskClient, invalid: str,
                                                             error: str) -> None:
    token = "not.a.token" if invalid == "token" else make_token(sub="agent", aud=AUDIENCE)
    key = OTHER_API_KEY if invalid == "key" else API_KEY
    headers = {**bearer(token), **api_key(key)}
    response = client.get("/tools", headers=headers)
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == error


def test_view_restricted_to_jwt_ignores_an_invalid_key(client: FlaskClient) -> None:
    headers = {**bearer(make_token(sub="agent", aud=AUDIENCE)), **api_key(OTHER_API_KEY)}
    response = client.get("/jwt-only", headers=headers)
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["method"] == "jwt"


def test_view_restricted_to_jwt_refuses_a_key_alone(client: FlaskClient) -> None:
    response = client.get("/jwt-only", headers=api_key())
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ['Bearer realm="otc"']


def test_jwt_only_server_ignores_api_key_headers(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_METHODS=["jwt"]).test_client()
    headers = {**bearer(make_token(sub="agent")), **api_key(OTHER_API_KEY)}
    assert client.get("/tools", headers=headers).status_code == 200


def test_no_auth_mode_ignores_every_credential(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_METHODS=["none"]).test_client()
    headers = {**bearer("junk"), **api_key("junk")}
    response = client.get("/tools", headers=headers)
    assert response.status_code == 200
    assert response.json == {"method": "none", "subject": None, "client": None}
