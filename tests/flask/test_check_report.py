"""``flask otcauth check`` says what will refuse (or endanger) spec traffic before it happens.

Each warning is paired with the HTTP behaviour it announces, so neither can drift from the
other: a token with ``aud`` refused while no audience is allowed (the spec's MUST, kept),
credentials accepted over plain HTTP while ``OTC_AUTH_REQUIRE_HTTPS`` is off, and a secret of
32 bytes that anyone guesses.
"""

from __future__ import annotations

import secrets

import pytest
from click.testing import Result
from flask import Flask

from flask_otcauth import generate_key, hash_key, require_auth

from ..conftest import build_app
from ..helpers import (
    AUDIENCE,
    HMAC_CLIENT,
    JWT_SECRET,
    api_key,
    assert_refused,
    bearer,
    make_token,
    signed,
)

GUESSABLE = "a" * 32  # 32 bytes: the length rule lets it through
HTTPS = "https://localhost"


def check(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["otcauth", "check", *args])


def warnings(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("warning: ")]


# aud while no audience is allowed ---------------------------------------------------------


def test_check_says_tokens_with_aud_are_refused_while_no_audience_is_allowed() -> None:
    result = check(build_app(OTC_AUTH_JWT_AUDIENCES=[]))

    [warning] = [line for line in warnings(result) if "OTC_AUTH_JWT_AUDIENCES" in line]
    assert "every token that carries aud is refused (401 invalid_token" in warning
    assert "as the OTC spec requires" in warning


def test_tokens_with_aud_stay_refused_while_no_audience_is_allowed() -> None:
    client = build_app(OTC_AUTH_JWT_AUDIENCES=[]).test_client()

    token = make_token(aud=AUDIENCE)

    assert_refused(client.get("/tools", headers=bearer(token)), 401, "invalid_token",
                   hint="The token's aud names no client this server allows.", presented=token)
    assert client.get("/tools", headers=bearer(make_token())).status_code == 200


def test_check_says_no_token_can_authenticate_when_aud_is_required_but_none_allowed() -> None:
    result = check(build_app(OTC_AUTH_JWT_AUDIENCES=[], OTC_AUTH_JWT_REQUIRE_AUDIENCE=True))

    assert "no token at all can authenticate" in result.output


def test_check_says_nothing_of_aud_when_audiences_are_listed() -> None:
    result = check(build_app(OTC_AUTH_JWT_AUDIENCES=[AUDIENCE]))

    assert "OTC_AUTH_JWT_AUDIENCES" not in result.output


# Scope-less credentials -------------------------------------------------------------------


def scoped_app(**overrides: object) -> Flask:
    app = build_app(**overrides)

    @app.get("/scoped")
    @require_auth(scopes=["tools:list"])
    def scoped() -> str:
        return "listed"

    return app


def test_check_warns_that_scope_less_credentials_are_granted_nothing() -> None:
    app = scoped_app()
    result = check(app)

    assert "credentials without scopes are granted: nothing" in result.output
    assert any(line.startswith("warning: OTC_AUTH_SCOPELESS_GRANTS is empty") for line in
               warnings(result))
    # What it announces: the spec's minimal token and a plain key are refused on a scoped view.
    client = app.test_client()
    assert_refused(client.get("/scoped", headers=bearer(make_token(aud=AUDIENCE))), 403,
                   "insufficient_scope", hint="tools:list")
    assert_refused(client.get("/scoped", headers=api_key()), 403, "insufficient_scope")


def test_check_names_the_scopes_scope_less_credentials_are_granted() -> None:
    app = scoped_app(OTC_AUTH_SCOPELESS_GRANTS=["tools:list", "tools:call:*"])
    result = check(app)

    assert "credentials without scopes are granted: tools:call:* tools:list" in result.output
    assert "OTC_AUTH_SCOPELESS_GRANTS" not in "\n".join(warnings(result))
    assert app.test_client().get("/scoped", headers=api_key()).status_code == 200


# OTC_AUTH_REQUIRE_HTTPS -------------------------------------------------------------------


def test_check_warns_when_credentials_are_accepted_over_plain_http() -> None:
    app = build_app(OTC_AUTH_REQUIRE_HTTPS=False)
    result = check(app)

    assert "require https: OFF" in result.output
    assert any(line.startswith("warning: OTC_AUTH_REQUIRE_HTTPS is off") for line in
               warnings(result))
    assert app.test_client().get("/tools", headers=api_key()).status_code == 200  # plain HTTP
    assert check(app, "--strict").exit_code == 1


def test_check_says_plain_http_credentials_get_403_when_https_is_required() -> None:
    app = build_app(OTC_AUTH_REQUIRE_HTTPS=True)
    result = check(app)

    assert "require https: on (a credential sent over plain HTTP gets 403 https_required" in (
        result.output)
    assert "OTC_AUTH_REQUIRE_HTTPS" not in result.output
    assert_refused(app.test_client().get("/tools", headers=api_key()), 403, "https_required")
    assert app.test_client().get("/tools", headers=api_key(),
                                 base_url=HTTPS).status_code == 200


# secrets of low entropy -------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "named", "used"), [
    ({"OTC_AUTH_JWT_SECRET": GUESSABLE}, "OTC_AUTH_JWT_SECRET", "jwt"),
    ({"OTC_AUTH_JWT_SECRET": [JWT_SECRET, GUESSABLE]}, "OTC_AUTH_JWT_SECRET[1]", "jwt"),
    ({"OTC_AUTH_API_KEYS": ["b" * 40, GUESSABLE]}, "OTC_AUTH_API_KEYS[1]", "api_key"),
    ({"OTC_AUTH_METHODS": ["hmac"], "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: GUESSABLE}},
     f'OTC_AUTH_HMAC_CLIENTS["{HMAC_CLIENT}"]', "hmac"),
], ids=["jwt-secret", "jwt-rotation-entry", "plain-api-key", "hmac-secret"])
def test_check_warns_of_a_guessable_secret_by_its_key_never_its_value(
    settings: dict[str, object], named: str, used: str
) -> None:
    app = build_app(**settings)
    result = check(app)

    assert result.exit_code == 0, result.output
    assert f"warning: {named} has 1 distinct character and an estimated 0 bits of entropy" in (
        result.output)
    assert "aaaa" not in result.output
    assert check(app, "--strict").exit_code == 1
    # What the warning is about: whoever guesses the secret gets in.
    client = app.test_client()
    if used == "jwt":
        headers = bearer(make_token(GUESSABLE, aud=AUDIENCE))
    elif used == "api_key":
        headers = api_key(GUESSABLE)
    else:
        headers = signed("GET", "/tools", secret=GUESSABLE)
    assert client.get("/tools", headers=headers).status_code == 200


def test_check_names_each_weak_key_once_and_no_strong_one() -> None:
    result = check(build_app(OTC_AUTH_API_KEYS=["ab" * 20, "c" * 40]))

    weak = [line for line in warnings(result) if "bits of entropy" in line]
    assert [line.split(" ")[1] for line in weak] == ["OTC_AUTH_API_KEYS[0]",
                                                      "OTC_AUTH_API_KEYS[1]"]


def test_check_finds_no_weak_secret_among_random_ones_and_cannot_judge_digests() -> None:
    app = build_app(OTC_AUTH_METHODS=["jwt", "api_key", "hmac"],
                    OTC_AUTH_JWT_SECRET=secrets.token_urlsafe(48),
                    OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: secrets.token_urlsafe(48)},
                    OTC_AUTH_API_KEYS=[generate_key(), hash_key(GUESSABLE)])
    result = check(app)

    assert result.exit_code == 0, result.output
    assert "bits of entropy" not in result.output
