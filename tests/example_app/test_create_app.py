"""create_app's configuration sources, production refusal, and the dev-mode banner."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from example_app import create_app
from flask_otcauth import OTCAuthConfigError

from .support import API_KEY, JWT_SECRET, KEY_RECORD, key_headers, settings


def _banner_line(banner: str, prefix: str) -> str:
    lines = [line.strip() for line in banner.splitlines() if line.strip().startswith(prefix)]
    assert len(lines) == 1, banner
    return lines[0]


def test_production_without_secrets_raises_config_error() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_"):
        create_app({"TESTING": True})


def test_production_without_secrets_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(OTCAuthConfigError):
        create_app({"TESTING": True})

    assert capsys.readouterr() == ("", "")


def test_production_with_secrets_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    create_app(settings())

    assert capsys.readouterr() == ("", "")


def test_production_refuses_credentials_over_plain_http() -> None:
    production = {key: value for key, value in settings().items() if key != "TESTING"}
    response = create_app(production).test_client().get("/tools", headers=key_headers())

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"] == "https_required"


def test_dev_mode_accepts_credentials_over_plain_http(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app({"EXAMPLE_DEV_MODE": True})
    curl = shlex.split(_banner_line(capsys.readouterr().err, "curl -H 'OTC-API-Key:"))
    header_name, header_value = curl[2].split(": ", 1)

    assert app.test_client().get("/tools", headers={header_name: header_value}).status_code == 200


def test_dev_mode_prints_a_key_whose_curl_line_works(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})
    banner = capsys.readouterr().err

    curl = shlex.split(_banner_line(banner, "curl -H 'OTC-API-Key:"))
    header_name, header_value = curl[2].split(": ", 1)
    url = curl[3]
    response = app.test_client().get(url, headers={header_name: header_value})

    assert url == "http://127.0.0.1:8000/tools"
    assert response.status_code == 200
    assert len(header_value) >= 32


def test_dev_mode_prints_a_bearer_curl_line_that_works(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})
    banner = capsys.readouterr().err

    curl = shlex.split(_banner_line(banner, "curl -H 'Authorization: Bearer"))
    header_name, header_value = curl[2].split(": ", 1)
    response = app.test_client().get(curl[3], headers={header_name: header_value})

    assert response.status_code == 200


def test_dev_mode_prints_a_mint_command_whose_token_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})
    line = _banner_line(capsys.readouterr().err, "TOKEN=$(")
    command = line.removeprefix("TOKEN=$(").removesuffix(")")

    token = subprocess.run(  # noqa: S603 - the banner's own command, run with our interpreter
        shlex.split(command), capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    response = app.test_client().get("/tools", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def test_dev_mode_banner_goes_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "DEVELOPMENT MODE" in captured.err


def test_dev_mode_generates_new_credentials_for_each_app(
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})
    first = _banner_line(capsys.readouterr().err, "API key:")
    create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})
    second = _banner_line(capsys.readouterr().err, "API key:")

    assert first != second


@pytest.mark.parametrize(("variable", "value"), [("FLASK_DEBUG", "1"),
                                                ("EXAMPLE_DEV_MODE", "true")])
def test_an_environment_variable_turns_on_dev_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)

    create_app({"TESTING": True})

    assert "curl -H 'OTC-API-Key:" in capsys.readouterr().err


def test_dev_mode_keeps_configured_credentials_and_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app(settings(EXAMPLE_DEV_MODE=True))

    assert capsys.readouterr().err == ""
    assert app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY}).status_code == 200


def test_ambiguous_dev_mode_value_stops_startup() -> None:
    with pytest.raises(ValueError, match="EXAMPLE_DEV_MODE"):
        create_app({"TESTING": True, "EXAMPLE_DEV_MODE": "ture"})


def test_environment_variables_configure_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTC_AUTH_METHODS", '["api_key"]')
    monkeypatch.setenv("OTC_AUTH_API_KEYS", json.dumps([KEY_RECORD]))

    app = create_app({"TESTING": True})

    assert app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY}).status_code == 200


def test_config_mapping_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTC_AUTH_API_KEYS", json.dumps(["e" * 40]))

    app = create_app(settings())

    client = app.test_client()
    assert client.get("/tools", headers={"OTC-API-Key": API_KEY}).status_code == 200
    assert client.get("/tools", headers={"OTC-API-Key": "e" * 40}).status_code == 401


def test_environment_jwt_secret_as_plain_string_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTC_AUTH_METHODS", '["jwt"]')
    monkeypatch.setenv("OTC_AUTH_JWT_SECRET", JWT_SECRET)  # not JSON: stays a string

    app = create_app({"TESTING": True})

    assert app.config["OTC_AUTH_JWT_SECRET"] == JWT_SECRET


def test_unknown_otc_auth_setting_is_refused_not_ignored() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_API_KEY"):
        create_app(settings(OTC_AUTH_API_KEY="k" * 40))
