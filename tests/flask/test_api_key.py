"""API key authentication (OTC 1.0): the OTC-API-Key header, checked against stored digests."""

from __future__ import annotations

import hashlib

import pytest
from flask.testing import FlaskClient

from ..helpers import API_KEY, OTHER_API_KEY, api_key


def test_configured_key_authenticates(client: FlaskClient) -> None:
    response = client.get("/tools", headers=api_key())
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["method"] == "api_key"


def test_subject_is_a_digest_prefix_never_the_key(client: FlaskClient) -> None:
    response = client.get("/tools", headers=api_key())
    assert response.json is not None
    expected = "key:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:12]
    assert response.json["subject"] == expected
    assert API_KEY not in response.get_data(as_text=True)


def test_unknown_key_is_401(client: FlaskClient) -> None:
    response = client.get("/tools", headers=api_key(OTHER_API_KEY))
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_api_key"


def test_missing_key_is_401(client: FlaskClient) -> None:
    response = client.get("/tools")
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "missing_credentials"


def test_key_header_name_is_case_insensitive(client: FlaskClient) -> None:
    assert client.get("/tools", headers={"otc-api-key": API_KEY}).status_code == 200


def test_oxp_api_key_header_is_accepted_as_alias(client: FlaskClient) -> None:
    assert client.get("/tools", headers=api_key(header="OXP-API-Key")).status_code == 200


def test_both_headers_with_the_same_key_authenticate(client: FlaskClient) -> None:
    headers = {"OTC-API-Key": API_KEY, "OXP-API-Key": API_KEY}
    assert client.get("/tools", headers=headers).status_code == 200


def test_both_headers_with_different_values_are_401(client: FlaskClient) -> None:
    headers = {"OTC-API-Key": API_KEY, "OXP-API-Key": OTHER_API_KEY}
    assert client.get("/tools", headers=headers).status_code == 401


def test_duplicated_header_lines_are_401(client: FlaskClient) -> None:
    headers = [("OTC-API-Key", API_KEY), ("OTC-API-Key", API_KEY)]
    assert client.get("/tools", headers=headers).status_code == 401


def test_empty_key_is_401(client: FlaskClient) -> None:
    assert client.get("/tools", headers=api_key("")).status_code == 401


def test_oversized_key_is_401(client: FlaskClient) -> None:
    assert client.get("/tools", headers=api_key("k" * 20_000)).status_code == 401


@pytest.mark.parametrize("key", ["ключ-" + "x" * 40, API_KEY + "\u00e9", API_KEY + " "])
def test_non_ascii_or_spaced_key_is_401_not_500(client: FlaskClient, key: str) -> None:
    response = client.get("/tools", headers={"OTC-API-Key": key.encode().decode("latin-1")})
    assert response.status_code == 401
    assert response.json is not None


def test_key_prefix_of_a_valid_key_is_401(client: FlaskClient) -> None:
    assert client.get("/tools", headers=api_key(API_KEY[:-1])).status_code == 401


def test_custom_key_header_replaces_the_defaults(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_API_KEY_HEADERS=["X-Tool-Key"]).test_client()
    assert client.get("/tools", headers={"X-Tool-Key": API_KEY}).status_code == 200
    assert client.get("/tools", headers=api_key()).status_code == 401


def test_api_key_only_server_ignores_authorization(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_METHODS=["api_key"]).test_client()
    headers = {**api_key(), "Authorization": "Bearer not-a-token"}
    assert client.get("/tools", headers=headers).status_code == 200
