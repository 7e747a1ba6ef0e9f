"""GET /openapi.json: a valid OpenAPI 3.1 document naming the methods the server enables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from ..docs.refusal_codes import EXPECTED, refusal_codes

AppFactory = Callable[..., Flask]
REFUSAL_CODES = sorted(refusal_codes() | EXPECTED)


def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json is not None
    body: dict[str, Any] = response.json
    return body


def test_openapi_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    body = document(client)

    validate(body, cls=OpenAPIV31SpecValidator)
    assert body["openapi"] == "3.1.0"


def test_openapi_document_is_served_without_credentials(client: FlaskClient) -> None:
    assert client.get("/openapi.json").status_code == 200


def test_openapi_document_covers_the_otc_endpoints(client: FlaskClient) -> None:
    paths = document(client)["paths"]

    assert set(paths) == {"/health", "/tools", "/tools/call", "/tenants/{tenant}/usage"}
    assert set(paths["/tools/call"]) == {"post"}
    assert "401" in paths["/tools"]["get"]["responses"]


def test_health_is_documented_as_open(client: FlaskClient) -> None:
    assert document(client)["paths"]["/health"]["get"]["security"] == []


def test_protected_operations_accept_any_enabled_method(client: FlaskClient) -> None:
    body = document(client)

    assert body["security"] == [{"jwt": []}, {"api_key": []}]
    assert set(body["components"]["securitySchemes"]) == {"jwt", "api_key"}
    assert "security" not in body["paths"]["/tools"]["get"]


def test_documented_methods_follow_the_configuration(make_app: AppFactory) -> None:
    with make_app(OTC_AUTH_METHODS=["api_key"]).test_client() as client:
        body = document(client)

    validate(body, cls=OpenAPIV31SpecValidator)
    assert body["security"] == [{"api_key": []}]
    assert body["components"]["securitySchemes"]["api_key"]["name"] == "OTC-API-Key"


def test_openapi_document_stays_open_when_every_view_is_protected(
        make_app: AppFactory) -> None:
    with make_app(OTC_AUTH_PROTECT_ALL=True).test_client() as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/tools").status_code == 401


def test_signed_requests_are_documented_when_hmac_is_enabled(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["hmac", "api_key"],
                   OTC_AUTH_HMAC_CLIENTS={"agent-platform": "signing-secret-" + "h" * 40})
    with app.test_client() as client:
        body = document(client)

    validate(body, cls=OpenAPIV31SpecValidator)
    assert body["security"] == [{"hmac": []}, {"api_key": []}]
    assert "RFC 9421" in body["components"]["securitySchemes"]["hmac"]["description"]


def test_openapi_document_is_valid_without_authentication(make_app: AppFactory) -> None:
    with make_app(OTC_AUTH_METHODS=["none"]).test_client() as client:
        body = document(client)

    validate(body, cls=OpenAPIV31SpecValidator)
    assert body["security"] == []
    assert body["components"]["securitySchemes"] == {}
    assert "none (authentication is off)" in body["info"]["description"]


@pytest.mark.parametrize("code", REFUSAL_CODES)
def test_openapi_document_lists_every_refusal_code(client: FlaskClient, code: str) -> None:
    error = document(client)["components"]["schemas"]["AuthErrorResponse"]["properties"]["error"]

    assert code in error["examples"], f"add {code!r} to AuthErrorResponse in example_app/openapi.py"
