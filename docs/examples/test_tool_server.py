"""A tool server's own tests, with the flask-otcauth pytest plugin (installed with the package).

pytest-flask builds ``client`` from the ``app`` fixture below; the plugin's ``otc_client``,
``otc_headers`` and ``otc_token`` sign tokens with that app's own settings. The test suite of
flask-otcauth runs this file with pytest, as you would run yours.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app import create_app  # your app factory
from flask_otcauth import hash_key
from flask_otcauth.testing import api_key_headers, bearer_headers, make_token

API_KEY = "test-only-key-" + "k" * 40  # test values: at least 32 characters each
JWT_SECRET = "test-only-jwt-secret-" + "s" * 40
# The example server gives each tool a scope; these tests may list and call them all.
ALL_TOOLS = ["tools:list", "tools:call:*"]
pytestmark = pytest.mark.otc_claims(scopes=ALL_TOOLS)  # claims of otc_token & co.


@pytest.fixture
def app() -> Flask:
    return create_app({
        "TESTING": True,
        "OTC_AUTH_METHODS": ["jwt", "api_key"],
        "OTC_AUTH_API_KEYS": [{"id": "tests", "hash": hash_key(API_KEY), "scopes": ALL_TOOLS}],
        "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": ["tests"],
        "OTC_AUTH_RATELIMIT": None,  # limits get tests of their own
        "OTC_AUTH_FAILURE_RATELIMIT": None,
    })


def test_tools_need_credentials(client: FlaskClient) -> None:
    response = client.get("/tools")

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "missing_credentials"


def test_health_stays_open(client: FlaskClient) -> None:
    assert client.get("/health").status_code == 200


def test_tools_answer_a_token(otc_client: FlaskClient) -> None:
    assert otc_client.get("/tools").status_code == 200


@pytest.mark.otc_claims(sub="nightly-job", ttl=60)
def test_calls_carry_the_callers_token(client: FlaskClient, otc_headers: dict[str, Any]) -> None:
    body = {"request": {"tool_id": "Math.Add", "input": {"a": 1, "b": 2}}}

    response = client.post("/tools/call", json=body, headers=otc_headers)

    assert response.status_code == 200


def test_tools_answer_a_key(app: Flask, client: FlaskClient) -> None:
    assert client.get("/tools", headers=api_key_headers(app, API_KEY)).status_code == 200


def test_tokens_minted_for_the_app_are_accepted(app: Flask, client: FlaskClient) -> None:
    token = make_token(app, sub="ci", ttl=30, scopes=ALL_TOOLS)

    assert client.get("/tools", headers=bearer_headers(token)).status_code == 200


def test_a_token_for_another_audience_is_refused(client: FlaskClient) -> None:
    # make_token refuses to mint what the app would refuse, so forge this one with PyJWT.
    claims = {"sub": "intruder", "aud": "someone-else", "exp": int(time.time()) + 60}
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    response = client.get("/tools", headers=bearer_headers(token))

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"
