"""What a refusal tells whoever wires up a client: what was received (never its characters),
which claim is missing, and which list a comma-separated setting meant."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_otcauth import OTCAuth, OTCAuthConfigError

from ..conftest import AppFactory, base_config
from ..forge import forge
from ..helpers import API_KEY, assert_refused, bearer

# What the oxp client sends when it was given a placeholder: it always sends a bearer.
PLACEHOLDER = "junk-the-client-always-sends-a-bearer"


@pytest.mark.parametrize(("sent", "shape"), [
    (PLACEHOLDER, f"Not a JWT: received {len(PLACEHOLDER)} characters in 1 dot-separated "
                  "segment."),
    (API_KEY, f"Not a JWT: received {len(API_KEY)} characters in 1 dot-separated segment."),
    ("abc.def", "Not a JWT: received 7 characters in 2 dot-separated segments."),
    ("a" * 600 + ".b.c", "Not a JWT: received 604 characters in 3 dot-separated segments, the "
                         "first longer than the 512 a JWS header may be."),
    ("abc.def.", "Not a JWT: received 8 characters in 3 dot-separated segments, one of them "
                 "empty"),
])
def test_a_bearer_that_is_not_a_jwt_is_described_by_its_shape(
    client: FlaskClient, sent: str, shape: str
) -> None:
    response = client.get("/tools", headers=bearer(sent))
    body = assert_refused(response, 401, "invalid_token", hint=shape, presented=sent)
    assert sent not in body["developer_message"]
    assert shape in response.headers["WWW-Authenticate"]


def test_a_token_without_exp_names_the_claim(client: FlaskClient) -> None:
    response = client.get("/tools", headers=bearer(forge(claims={"sub": "a"})))
    assert_refused(response, 401, "invalid_token", hint="The token lacks the exp claim")


def test_a_token_without_iss_names_the_claim_and_the_setting(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_JWT_ISSUER="https://platform.example")
    token = forge(claims={"sub": "a", "exp": int(time.time()) + 60})
    assert_refused(app.test_client().get("/tools", headers=bearer(token)), 401, "invalid_token",
                   hint="The token lacks the iss claim, which this server requires "
                        "(OTC_AUTH_JWT_ISSUER is set).")


def test_a_token_without_aud_names_the_claim_and_the_setting(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_JWT_REQUIRE_AUDIENCE=True)
    token = forge(claims={"sub": "a", "exp": int(time.time()) + 60})
    assert_refused(app.test_client().get("/tools", headers=bearer(token)), 401, "invalid_token",
                   hint="The token lacks the aud claim, which this server requires "
                        "(OTC_AUTH_JWT_REQUIRE_AUDIENCE is on).")


@pytest.mark.parametrize(("value", "meant"), [
    ("jwt,api_key", '["jwt", "api_key"]'),
    ("jwt, api_key", '["jwt", "api_key"]'),
    ("api_key hmac", '["api_key", "hmac"]'),
])
def test_methods_as_one_comma_separated_string_suggest_the_json_list(
    value: str, meant: str
) -> None:
    """As an environment variable arrives when it was not written as JSON."""
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_METHODS=value))
    with pytest.raises(OTCAuthConfigError) as raised:
        OTCAuth(app)
    assert str(raised.value) == (f'OTC_AUTH_METHODS is the one string "{value}": write a list, '
                                 f"{meant} (JSON in an environment variable).")


def test_one_method_as_a_string_is_still_one_method() -> None:
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_METHODS="api_key"))
    assert OTCAuth(app).settings(app).methods == ("api_key",)
