"""The pytest plugin, run the way a user's suite runs it: a test directory in a pytester."""

from __future__ import annotations

import configparser
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from flask import Flask

from flask_otcauth import hash_key
from flask_otcauth.cli import otcauth_cli
from flask_otcauth.testing import api_key_headers, bearer_headers, make_token

from ..conftest import build_app
from ..helpers import API_KEY

SETUP_CFG = Path(__file__).resolve().parents[2] / "setup.cfg"

USER_CONFTEST = '''
import pytest
from flask import Flask
from flask_otcauth import OTCAuth, current_identity, require_auth

SECRET = "user-suite-jwt-secret-" + "Lp4Xz" * 8


@pytest.fixture
def app():
    app = Flask("user_app")
    app.config.update(TESTING=True, OTC_AUTH_METHODS=["jwt"], OTC_AUTH_JWT_SECRET=SECRET,
                      OTC_AUTH_JWT_AUDIENCES=["platform"], OTC_AUTH_JWT_MAX_LIFETIME=600,
                      OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None)
    OTCAuth(app)

    @app.get("/tools")
    @require_auth(scopes=["tools:list"])
    def tools():
        return {"sub": current_identity.subject, "aud": current_identity.client}

    @app.get("/me")
    @require_auth
    def me():
        return {"sub": current_identity.subject}

    return app
'''


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    plugins = {entry.value for entry in entry_points(group="pytest11")}

    assert "flask_otcauth.testing" in plugins


def declared_entry_points(group: str) -> dict[str, str]:
    """The entry points setup.cfg declares for ``group`` (what a fresh install registers)."""
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG, encoding="utf-8")
    declared: dict[str, str] = {}
    for line in parser.get("options.entry_points", group).strip().splitlines():
        name, _, value = line.partition("=")
        declared[name.strip()] = value.strip()
    return declared


def test_setup_cfg_declares_the_plugin_as_a_pytest11_entry_point() -> None:
    assert declared_entry_points("pytest11") == {"otcauth": "flask_otcauth.testing"}


def test_setup_cfg_declares_the_cli_as_a_flask_commands_entry_point() -> None:
    assert declared_entry_points("flask.commands") == {
        "otcauth": "flask_otcauth.cli:otcauth_cli"}
    assert otcauth_cli.name == "otcauth"


def test_fixtures_authenticate_against_the_users_app(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_CONFTEST)
    pytester.makepyfile('''
import pytest


def test_otc_client_sends_a_token(otc_client):
    assert otc_client.get("/me").json == {"sub": "pytest"}


@pytest.mark.otc_claims(sub="ci", scopes=["tools:list"])
def test_claims_come_from_the_marker(client, otc_headers):
    assert client.get("/tools", headers=otc_headers).json == {"sub": "ci", "aud": "platform"}


def test_without_the_scope_the_view_is_403(client, otc_headers):
    assert client.get("/tools", headers=otc_headers).status_code == 403


def test_otc_token_is_a_jwt(otc_token):
    assert otc_token.count(".") == 2
''')
    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=4)


def test_module_claims_merge_with_the_tests_own(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_CONFTEST)
    pytester.makepyfile('''
import pytest

pytestmark = pytest.mark.otc_claims(sub="module", scopes=["tools:list"])


@pytest.mark.otc_claims(sub="nightly")
def test_the_closest_marker_wins_per_claim(client, otc_headers):
    assert client.get("/tools", headers=otc_headers).json["sub"] == "nightly"


def test_the_module_marker_applies(otc_client):
    assert otc_client.get("/tools").json["sub"] == "module"
''')
    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)


def test_a_ttl_above_the_apps_maximum_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_CONFTEST)
    pytester.makepyfile('''
import pytest


@pytest.mark.otc_claims(ttl=601)
def test_long_token(otc_token):
    pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*OTC_AUTH_JWT_MAX_LIFETIME (600 s)*"])


def test_the_marker_is_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")

    result.stdout.fnmatch_lines(["@pytest.mark.otc_claims(**claims):*"])


def test_make_token_uses_the_apps_audience_and_secret() -> None:
    app = build_app()
    response = app.test_client().get("/tools", headers=bearer_headers(make_token(app, sub="x")))

    assert response.json is not None
    assert (response.json["subject"], response.json["client"]) == ("x", "otc-client")


def test_bearer_headers_mints_a_token_for_an_app() -> None:
    app = build_app()

    assert app.test_client().get("/tools", headers=bearer_headers(app)).status_code == 200


def test_api_key_headers_use_the_apps_first_header() -> None:
    app = build_app(OTC_AUTH_API_KEY_HEADERS=["X-Tool-Key"],
                    OTC_AUTH_API_KEYS=[{"id": "k", "hash": hash_key(API_KEY)}])
    headers = api_key_headers(app, API_KEY)

    assert headers == {"X-Tool-Key": API_KEY}
    assert app.test_client().get("/tools", headers=headers).status_code == 200


def test_helpers_refuse_an_app_without_the_extension() -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        make_token(Flask("bare"))
