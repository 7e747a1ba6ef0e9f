"""A method defined outside the package (docs/examples/header_token.py, the one docs/extending.md
shows) gets everything the built-in methods get, without a change to any package file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import header_token
import pytest
from config_reference import missing_fields, reference_sections
from flask import Flask
from header_token import HEADER, HEADER_TOKEN, TOKENS_KEY

import flask_otcauth
from flask_otcauth import OTCAuth, OTCAuthConfigError, current_identity, require_auth
from flask_otcauth.testing import credential_headers

from ..helpers import API_KEY

TOKEN = "tool-token-" + "Qw7Er" * 8
CONFIG: dict[str, Any] = {
    "TESTING": True,
    "OTC_AUTH_METHODS": ["header_token", "api_key"],
    "OTC_AUTH_HEADER_TOKENS": {"ci": "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()},
    "OTC_AUTH_API_KEYS": [API_KEY],
    "OTC_AUTH_RATELIMIT": None,
}


def make_app(**overrides: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({**CONFIG, **overrides})
    auth = OTCAuth()
    auth.register_method(HEADER_TOKEN)
    auth.init_app(app)

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return {"method": current_identity.method, "subject": current_identity.subject}

    return app


def refusal(**overrides: Any) -> str:
    with pytest.raises(OTCAuthConfigError) as raised:
        make_app(**overrides)
    return str(raised.value)


def test_the_method_lives_outside_the_package() -> None:
    package = Path(flask_otcauth.__file__).resolve().parent
    assert package not in Path(header_token.__file__).resolve().parents


def test_its_credential_is_accepted_through_http() -> None:
    response = make_app().test_client().get("/tools", headers={HEADER: TOKEN})
    assert (response.status_code, response.json) == (200, {"method": "header_token",
                                                           "subject": "ci"})


def test_the_built_in_methods_keep_working_beside_it() -> None:
    response = make_app().test_client().get("/tools", headers={"OTC-API-Key": API_KEY})
    assert response.json == {"method": "api_key", "subject": response.json["subject"]}


def test_its_refusal_has_the_one_shape_and_its_own_code() -> None:
    response = make_app().test_client().get("/tools", headers={HEADER: "wrong-" + TOKEN})
    assert response.status_code == 401
    assert set(response.json) == {"error", "message", "developer_message"}
    assert response.json["error"] == "invalid_header_token"
    assert response.headers["Cache-Control"] == "no-store"


def test_its_challenge_stands_beside_the_other_methods() -> None:
    response = make_app().test_client().get("/tools")
    assert response.headers.getlist("WWW-Authenticate") == [
        f'HeaderToken realm="otc", header="{HEADER}"', 'APIKey realm="otc", header="OTC-API-Key"']
    assert f"a token in the {HEADER} header" in response.json["developer_message"]


def test_its_refusals_count_toward_the_failure_limit() -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute").test_client()
    statuses = [client.get("/tools", headers={HEADER: "wrong"}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_a_misspelt_key_of_it_gets_the_closest_name() -> None:
    message = refusal(OTC_AUTH_HEADER_TOKEN={})
    assert "Unknown setting OTC_AUTH_HEADER_TOKEN. Did you mean OTC_AUTH_HEADER_TOKENS?" in message


def test_its_parser_refuses_a_bad_value_naming_the_key() -> None:
    assert 'OTC_AUTH_HEADER_TOKENS["ci"]' in refusal(OTC_AUTH_HEADER_TOKENS=TOKENS_KEY.bad_example)


def test_enabling_it_without_callers_is_refused_at_start_up() -> None:
    assert "OTC_AUTH_HEADER_TOKENS is empty" in refusal(OTC_AUTH_HEADER_TOKENS={})


def test_its_secret_may_not_also_be_an_api_key() -> None:
    message = refusal(OTC_AUTH_API_KEYS=[TOKEN])
    assert 'OTC_AUTH_HEADER_TOKENS["ci"] is also configured as a secret of "api_key"' in message


def test_an_unregistered_method_is_an_unknown_method_and_its_keys_unknown_keys() -> None:
    app = Flask(__name__)
    app.config.update({name: value for name, value in CONFIG.items()
                       if name != "OTC_AUTH_HEADER_TOKENS"})
    with pytest.raises(OTCAuthConfigError, match='unknown method "header_token"'):
        OTCAuth(app)
    app.config["OTC_AUTH_HEADER_TOKENS"] = CONFIG["OTC_AUTH_HEADER_TOKENS"]
    with pytest.raises(OTCAuthConfigError, match="Unknown setting OTC_AUTH_HEADER_TOKENS"):
        OTCAuth(app)


def test_its_openapi_security_scheme_is_published() -> None:
    app = make_app()
    schemes = app.extensions["otcauth"].openapi_security_schemes(app)
    assert list(schemes) == ["header_token", "api_key"]
    assert schemes["header_token"]["name"] == HEADER


def test_check_prints_its_lines() -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["otcauth", "check"])
    assert result.exit_code == 0, result.output
    assert "methods: header_token, api_key" in result.output
    assert "header_token: 1 caller(s): ci" in result.output


def test_the_configuration_page_generator_renders_its_keys() -> None:
    keys = make_app().extensions["otcauth"].config_keys()
    assert TOKENS_KEY in keys
    assert missing_fields(TOKENS_KEY) == []
    (section,) = reference_sections([TOKENS_KEY])
    text = section.astext()
    assert "OTC_AUTH_HEADER_TOKENS" in text
    assert TOKENS_KEY.wrong in text


def test_the_pytest_plugin_makes_its_credential() -> None:
    app = make_app()
    headers = credential_headers(app, "header_token", token=TOKEN)
    assert app.test_client().get("/tools", headers=headers).json["subject"] == "ci"


def test_registering_after_init_app_is_refused() -> None:
    app = Flask(__name__)
    app.config.update(TESTING=True, OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[API_KEY])
    auth = OTCAuth(app)
    with pytest.raises(RuntimeError, match="before init_app"):
        auth.register_method(HEADER_TOKEN)
