"""Settings from the environment, the dev-mode flag, and the dev credentials and banner."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time

import jwt
import pytest

from example_app.config import (
    DEV_BUDGET,
    DEV_SCOPES,
    DEV_TENANT,
    DevCredentials,
    as_flag,
    dev_banner,
    dev_credentials,
    from_environment,
    mint_command,
)
from flask_otcauth import hash_key

SECRET = "s" * 48


def test_environment_values_are_parsed_as_json() -> None:
    loaded = from_environment(
        {
            "OTC_AUTH_API_KEYS": '["a", "b"]',
            "OTC_AUTH_RATELIMIT": "null",
            "EXAMPLE_DEV_MODE": "true",
        }
    )

    assert loaded == {
        "OTC_AUTH_API_KEYS": ["a", "b"],
        "OTC_AUTH_RATELIMIT": None,
        "EXAMPLE_DEV_MODE": True,
    }


def test_environment_values_that_are_not_json_stay_strings() -> None:
    assert from_environment({"OTC_AUTH_RATELIMIT": "5/minute"}) == {
        "OTC_AUTH_RATELIMIT": "5/minute"
    }


def test_environment_keys_keep_their_prefix_and_others_are_ignored() -> None:
    loaded = from_environment({"OTC_AUTH_METHODS": '["none"]', "FLASK_DEBUG": "1", "HOME": "/root"})

    assert loaded == {"OTC_AUTH_METHODS": ["none"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("yes", True), (" 1 ", True), (False, False), ("false", False), ("0", False)],
)
def test_flag_accepts_booleans_and_their_usual_spellings(value: object, expected: bool) -> None:
    assert as_flag(value, "EXAMPLE_DEV_MODE") is expected


@pytest.mark.parametrize("value", ["ture", 1, None, "enabled"])
def test_flag_refuses_ambiguous_values(value: object) -> None:
    with pytest.raises(ValueError, match="EXAMPLE_DEV_MODE must be true or false"):
        as_flag(value, "EXAMPLE_DEV_MODE")


def test_dev_credentials_are_generated_for_both_default_methods() -> None:
    credentials = dev_credentials({})

    assert credentials is not None
    assert credentials.api_key is not None
    assert len(credentials.api_key) >= 32
    assert credentials.jwt_secret is not None
    assert len(credentials.jwt_secret.encode()) >= 32


def test_dev_credentials_differ_on_every_run() -> None:
    assert dev_credentials({}) != dev_credentials({})


def test_dev_credentials_only_for_enabled_methods() -> None:
    credentials = dev_credentials({"OTC_AUTH_METHODS": ["api_key"]})

    assert credentials is not None
    assert credentials.jwt_secret is None
    assert credentials.settings() == {"OTC_AUTH_API_KEYS": [
        {"id": "dev", "hash": hash_key(credentials.api_key), "scopes": list(DEV_SCOPES),
         "tenant": DEV_TENANT, "budget": DEV_BUDGET}]}


def test_no_dev_credentials_when_authentication_is_off() -> None:
    assert dev_credentials({"OTC_AUTH_METHODS": ["none"]}) is None


@pytest.mark.parametrize("configured", ["OTC_AUTH_API_KEYS", "OTC_AUTH_JWT_SECRET"])
def test_configured_credentials_are_never_replaced(configured: str) -> None:
    assert dev_credentials({configured: ["k" * 40]}) is None


def test_mint_command_prints_a_valid_token_for_the_secret() -> None:
    command = mint_command(SECRET, "otc-client", lifetime=60)

    output = subprocess.run(  # noqa: S603 - our own interpreter and a command we just built
        shlex.split(command), capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()

    claims = jwt.decode(output, SECRET, algorithms=["HS256"], audience="otc-client")
    assert claims["sub"] == "dev"
    assert 0 < claims["exp"] - time.time() <= 60


def test_mint_command_runs_with_the_current_interpreter() -> None:
    assert shlex.split(mint_command(SECRET, None))[0] == sys.executable


def test_banner_shows_the_key_and_a_curl_line_for_the_base_url() -> None:
    banner = dev_banner(DevCredentials("K" * 43, None), {"EXAMPLE_BASE_URL": "http://localhost:9/"})

    assert f"curl -H 'OTC-API-Key: {'K' * 43}' http://localhost:9/tools" in banner
    assert "JWT secret" not in banner


def test_banner_mints_tokens_for_the_first_configured_audience() -> None:
    banner = dev_banner(
        DevCredentials(None, SECRET), {"OTC_AUTH_JWT_AUDIENCES": ["aud-1", "aud-2"]}
    )

    assert '"aud": "aud-1"' in banner
    assert "OTC-API-Key" not in banner


def test_banner_token_lifetime_respects_a_shorter_configured_maximum() -> None:
    banner = dev_banner(DevCredentials(None, SECRET), {"OTC_AUTH_JWT_MAX_LIFETIME": 60})

    assert "int(time.time()) + 60" in banner


def test_banner_token_carries_the_audience_and_a_short_expiry() -> None:
    banner = dev_banner(DevCredentials(None, SECRET), {"OTC_AUTH_JWT_AUDIENCES": ["aud-1"]})
    line = next(line for line in banner.splitlines() if "Bearer ey" in line)
    token = shlex.split(line)[2].removeprefix("Authorization: Bearer ")

    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="aud-1")

    assert 0 < claims["exp"] - time.time() <= 300
