"""``flask otcauth`` through Flask's CliRunner, each command proven against a real app."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import jwt
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import FlaskGroup

from flask_otcauth import hash_key
from flask_otcauth.core.keys import key_environment

from ..conftest import build_app
from ..helpers import (
    API_KEY,
    AUDIENCE,
    HMAC_SECRET,
    JWT_SECRET,
    OLD_JWT_SECRET,
    OTHER_API_KEY,
    api_key,
    bearer,
    iso,
    key_record,
)

STORAGE_PASSWORD = "s3cret-storage-password"
QUERY_PASSWORD = "TOPSECRETPW-in-the-query"
QUERY_TOKEN = "t0ken-in-the-query-string"


def run(app: Flask, *args: str, stdin: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=["otcauth", *args], input=stdin)


def assert_no_secrets(text: str) -> None:
    for secret in (API_KEY, OTHER_API_KEY, JWT_SECRET, OLD_JWT_SECRET, STORAGE_PASSWORD,
                   QUERY_PASSWORD, QUERY_TOKEN):
        assert secret not in text


# generate-key -----------------------------------------------------------------------------


def test_generate_key_prints_a_key_and_its_key_record() -> None:
    result = run(build_app(), "generate-key", "--id", "ci-bot", "--scope", "tools:list",
                 "--scope", "tools:call:*", "--tenant", "acme")

    assert result.exit_code == 0, result.output
    first, _, record_line, allowance = result.output.strip().splitlines()
    key = first.rsplit(" ", 1)[1]
    assert key_environment(key) == "live"
    assert json.loads(record_line) == {"id": "ci-bot", "hash": hash_key(key),
                                       "scopes": ["tools:call:*", "tools:list"],
                                       "tenant": "acme"}
    assert record_line.count(key) == 0
    assert allowance == ("What the key may do: exactly its scopes, tools:call:* tools:list, "
                         "whatever OTC_AUTH_SCOPELESS_GRANTS says.")


def test_a_generated_record_authenticates_its_key() -> None:
    result = run(build_app(), "generate-key", "--env", "test")
    key = result.output.splitlines()[0].rsplit(" ", 1)[1]
    generated = json.loads(result.output.splitlines()[2])

    app = build_app(OTC_AUTH_API_KEYS=[generated])

    assert key.startswith("otc_test_")
    assert app.test_client().get("/tools", headers=api_key(key)).status_code == 200


def test_generate_key_without_scopes_says_the_key_is_left_to_the_scopeless_grants() -> None:
    result = run(build_app(), "generate-key", "--id", "platform")

    assert result.exit_code == 0, result.output
    record_line, allowance = result.output.strip().splitlines()[2:]
    assert "scopes" not in json.loads(record_line)
    assert allowance.startswith('What the key may do: the record has no "scopes", so the key '
                                "may do what the app's OTC_AUTH_SCOPELESS_GRANTS grants")
    assert "--scope" in allowance


def test_a_generated_record_without_scopes_is_granted_the_app_s_scopeless_grants() -> None:
    result = run(build_app(), "generate-key")
    key = result.output.splitlines()[0].rsplit(" ", 1)[1]
    app = build_app(OTC_AUTH_API_KEYS=[json.loads(result.output.splitlines()[2])],
                    OTC_AUTH_SCOPELESS_GRANTS=["tools:list"])

    with app.test_request_context(headers=api_key(key)):
        identity = app.extensions["otcauth"].verify_request()
    assert identity is not None
    assert (identity.scopes, identity.scope_source) == (frozenset({"tools:list"}),
                                                        "OTC_AUTH_SCOPELESS_GRANTS")


def test_generate_key_with_no_scopes_writes_an_empty_list_and_says_so() -> None:
    result = run(build_app(), "generate-key", "--no-scopes")

    assert result.exit_code == 0, result.output
    record_line, allowance = result.output.strip().splitlines()[2:]
    assert json.loads(record_line)["scopes"] == []
    assert allowance == ('What the key may do: nothing that needs a scope ("scopes": []), '
                         "whatever OTC_AUTH_SCOPELESS_GRANTS says: it passes only views that "
                         "require no scope.")


def test_generate_key_refuses_scopes_and_no_scopes_together() -> None:
    result = run(build_app(), "generate-key", "--scope", "tools:list", "--no-scopes")

    assert result.exit_code == 2
    assert "contradict" in result.output


def test_generate_key_refuses_a_malformed_scope() -> None:
    result = run(build_app(), "generate-key", "--scope", 'bad"scope')

    assert result.exit_code == 2
    assert "--scope" in result.output


# hash-key ---------------------------------------------------------------------------------


def test_hash_key_reads_stdin() -> None:
    result = run(build_app(), "hash-key", stdin=API_KEY + "\n")

    assert result.exit_code == 0
    assert result.output.strip() == hash_key(API_KEY)


def test_hash_key_takes_no_key_argument() -> None:
    result = run(build_app(), "hash-key", API_KEY)

    assert result.exit_code == 2


def test_hash_key_refuses_empty_input() -> None:
    assert run(build_app(), "hash-key", stdin="").exit_code == 2


def test_hash_key_warns_on_a_mistyped_issued_key() -> None:
    result = run(build_app(), "hash-key", stdin="otc_live_" + "a" * 32 + "_zzzzzz")

    assert result.exit_code == 0
    assert "bad checksum" in result.output


# mint-token -------------------------------------------------------------------------------


def test_mint_token_is_accepted_by_the_app() -> None:
    app = build_app()
    result = run(app, "mint-token", "--sub", "alice", "--ttl", "60", "--scope", "tools:list")

    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["sub"] == "alice"
    assert claims["scope"] == "tools:list"
    assert 59 <= claims["exp"] - time.time() <= 61
    response = app.test_client().get("/tools", headers=bearer(token))
    assert response.json is not None
    assert response.json["subject"] == "alice"


def test_mint_token_signs_with_the_current_secret() -> None:
    app = build_app(OTC_AUTH_JWT_SECRET=[JWT_SECRET, OLD_JWT_SECRET])
    token = run(app, "mint-token", "--sub", "a").output.strip()

    jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE)


def test_mint_token_refuses_a_ttl_above_the_maximum() -> None:
    result = run(build_app(OTC_AUTH_JWT_MAX_LIFETIME=600), "mint-token", "--sub", "a",
                 "--ttl", "601")

    assert result.exit_code == 1
    assert "OTC_AUTH_JWT_MAX_LIFETIME" in result.output


def test_mint_token_refuses_an_audience_the_server_refuses() -> None:
    result = run(build_app(), "mint-token", "--sub", "a", "--aud", "someone-else")

    assert result.exit_code == 1
    assert "not an allowed client" in result.output


def test_mint_token_needs_jwt_enabled() -> None:
    result = run(build_app(OTC_AUTH_METHODS=["api_key"]), "mint-token", "--sub", "a")

    assert result.exit_code == 1
    assert '"jwt"' in result.output


# check ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("uri", "shown"), [
    (f"redis://user:{STORAGE_PASSWORD}@h:6379/0", "redis://user:***@h:6379/0"),
    (f"redis://h:6379/0?password={QUERY_PASSWORD}", "redis://h:6379/0?password=***"),
    (f"rediss://:{STORAGE_PASSWORD}@h:6380/1?db=2&Sentinel_Password={QUERY_PASSWORD}"
     f"&auth_token={QUERY_TOKEN}&socket_timeout=5",
     "rediss://:***@h:6380/1?db=2&Sentinel_Password=***&auth_token=***&socket_timeout=5"),
    (f"redis://h/0?pass%77ord={QUERY_PASSWORD}&client_secret={QUERY_TOKEN}",
     "redis://h/0?pass%77ord=***&client_secret=***"),
], ids=["userinfo", "query", "userinfo-and-query", "encoded-names"])
def test_check_prints_the_settings_with_secrets_masked(uri: str, shown: str) -> None:
    app = build_app(OTC_AUTH_API_KEYS=[OTHER_API_KEY, key_record(scopes=["tools:list"])],
                    OTC_AUTH_JWT_SECRET=[JWT_SECRET, OLD_JWT_SECRET],
                    OTC_AUTH_RATELIMIT_STORAGE_URI=uri,
                    OTC_AUTH_FAILURE_RATELIMIT="20/minute")
    result = run(app, "check")

    assert result.exit_code == 0, result.output
    assert "methods: jwt, api_key" in result.output
    assert '"ci-bot", sha256:' + hash_key(API_KEY)[7:15] + "..., scopes: tools:list" in (
        result.output)
    assert "2 secret(s)" in result.output
    assert f"storage {shown}\n" in result.output
    assert_no_secrets(result.output)


def test_check_masks_the_nonce_storage_password() -> None:
    app = build_app(OTC_AUTH_METHODS=["hmac"], OTC_AUTH_HMAC_CLIENTS={"platform": HMAC_SECRET},
                    OTC_AUTH_STORAGE_URI=f"redis://h:6379/0?password={QUERY_PASSWORD}")
    result = run(app, "check")

    assert "nonces in redis://h:6379/0?password=***" in result.output
    assert_no_secrets(result.output)


def test_check_warns_on_a_key_expiring_soon() -> None:
    result = run(build_app(OTC_AUTH_API_KEYS=[key_record(expires_at=iso(86400))]), "check")

    assert result.exit_code == 0
    assert 'warning: key "ci-bot" expires in 1.0 days' in result.output


def test_check_warns_on_an_expired_key() -> None:
    app = build_app(OTC_AUTH_API_KEYS=[key_record(expires_at=iso(-60)), OTHER_API_KEY])
    result = run(app, "check")

    assert result.exit_code == 0, result.output
    assert 'warning: key "ci-bot" has expired: remove it.' in result.output
    assert "expires in" not in result.output


def test_check_warns_on_a_large_leeway() -> None:
    assert "OTC_AUTH_JWT_LEEWAY is 120 s" in run(build_app(OTC_AUTH_JWT_LEEWAY=120),
                                                  "check").output


def test_check_warns_on_a_large_hmac_leeway() -> None:
    def hmac_app(leeway: int) -> Flask:
        return build_app(OTC_AUTH_METHODS=["hmac"], OTC_AUTH_HMAC_LEEWAY=leeway,
                         OTC_AUTH_HMAC_CLIENTS={"platform": HMAC_SECRET})

    assert "warning: OTC_AUTH_HMAC_LEEWAY is 120 s" in run(hmac_app(120), "check").output
    assert "OTC_AUTH_HMAC_LEEWAY" not in run(hmac_app(60), "check").output


def test_check_warns_on_memory_storage_with_several_workers() -> None:
    app = build_app(OTC_AUTH_FAILURE_RATELIMIT="20/minute")

    assert "memory:// storage with 4 workers" in run(app, "check", "--workers", "4").output
    assert "workers" not in run(app, "check", "--workers", "1").output


def test_check_reads_the_worker_count_from_web_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    app = build_app(OTC_AUTH_FAILURE_RATELIMIT="20/minute")

    assert "memory:// storage with 3 workers" in run(app, "check").output


def test_check_describes_signing_clients_and_warns_on_unshared_nonces() -> None:
    app = build_app(OTC_AUTH_METHODS=["hmac"], OTC_AUTH_HMAC_CLIENTS={
        "platform": {"secrets": [HMAC_SECRET], "scopes": ["tools:list"]}})
    result = run(app, "check", "--workers", "2")

    assert '"platform", 1 secret(s), scopes: tools:list' in result.output
    assert "hmac nonces in memory:// with 2 workers" in result.output
    assert HMAC_SECRET not in result.output


def test_check_strict_fails_on_warnings() -> None:
    assert run(build_app(OTC_AUTH_JWT_LEEWAY=120), "check", "--strict").exit_code == 1


def test_check_fails_when_no_key_can_authenticate() -> None:
    app = build_app(OTC_AUTH_API_KEYS=[key_record(disabled=True)])
    result = run(app, "check")

    assert result.exit_code == 1
    assert "every configured key is expired or disabled" in result.output


def test_check_fails_on_a_configuration_error() -> None:
    app = build_app()
    app.config["OTC_AUTH_JWT_SECRET"] = "short"
    result = run(app, "check")

    assert result.exit_code == 1
    assert "error: OTC_AUTH_JWT_SECRET is 5 bytes" in result.output


# Without a loadable app (the flask.commands entry point) ----------------------------------


def flask_command(*args: str, create_app: Callable[[], Flask] | None = None,
                  stdin: str | None = None) -> Result:
    """``flask otcauth ...`` as the shell runs it, with the app the factory builds (if any)."""
    return CliRunner().invoke(FlaskGroup(create_app=create_app), ["otcauth", *args], input=stdin)


def test_check_reports_a_configuration_that_stops_the_app() -> None:
    result = flask_command("check", create_app=lambda: build_app(OTC_AUTH_JWT_SECRET="short"))

    assert result.exit_code == 1
    assert "error: OTC_AUTH_JWT_SECRET is 5 bytes" in result.output
    assert "Traceback" not in result.output


def test_check_through_the_flask_command_reads_the_app() -> None:
    result = flask_command("check", create_app=build_app)

    assert result.exit_code == 0, result.output
    assert "methods: jwt, api_key" in result.output


def test_generate_and_hash_key_need_no_app() -> None:
    def no_app() -> Flask:
        raise AssertionError("the app was loaded")

    generated = flask_command("generate-key", create_app=no_app)
    key = generated.output.splitlines()[0].rsplit(" ", 1)[1]
    hashed = flask_command("hash-key", create_app=no_app, stdin=key)

    assert generated.exit_code == hashed.exit_code == 0
    assert hashed.output.strip() == json.loads(generated.output.splitlines()[2])["hash"]
