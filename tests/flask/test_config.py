"""Settings: read once at ``init_app`` into a frozen object, or refused with a clear error.

Every refusal is an ``OTCAuthConfigError`` raised while the app is being set up (never at a
request), naming the offending key and never quoting a secret.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from flask_otcauth import OTCAuth, OTCAuthConfigError, require_auth

from ..conftest import AppFactory, base_config
from ..helpers import (
    API_KEY,
    AUDIENCE,
    JWT_SECRET,
    OLD_JWT_SECRET,
    OTHER_API_KEY,
    api_key,
    bearer,
    make_token,
)

CONFIGURED_SECRETS = (JWT_SECRET, OLD_JWT_SECRET, API_KEY, OTHER_API_KEY)
STORAGE_PASSWORD = "hunter2-storage-password"


def refusal(make_app: AppFactory, *, leaked: tuple[str, ...] = (), **overrides: Any) -> str:
    """The message of the error ``init_app`` raises; fails if it quotes any secret."""
    with pytest.raises(OTCAuthConfigError) as caught:
        make_app(**overrides)
    message = str(caught.value)
    for secret in (*CONFIGURED_SECRETS, *leaked):
        assert secret not in message
    return message


def new_app(**overrides: Any) -> Flask:
    """A bare app with the shared configuration, for tests that wire OTCAuth themselves."""
    app = Flask(__name__)
    app.config.update(base_config(**overrides))
    return app


def key_digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


# Refusals at init_app ----------------------------------------------------------------------


def test_unknown_key_is_refused_with_the_closest_name(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_JWT_SECRETS="another-secret-" + "Qw3rT" * 8,
                      leaked=("another-secret-" + "Qw3rT" * 8,))

    assert "OTC_AUTH_JWT_SECRETS" in message
    assert "Did you mean OTC_AUTH_JWT_SECRET?" in message


def test_unknown_key_is_refused_even_when_nothing_is_close(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_ZZZZZZ=True)

    assert "OTC_AUTH_ZZZZZZ" in message


def test_unknown_method_is_refused_with_a_suggestion(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_METHODS=["jwt", "apikey"])

    assert "OTC_AUTH_METHODS" in message
    assert '"apikey"' in message
    assert 'Did you mean "api_key"?' in message


def test_none_mixed_with_other_methods_is_refused(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_METHODS=["none", "api_key"])

    assert "OTC_AUTH_METHODS" in message
    assert '"none"' in message


def test_empty_methods_are_refused(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_METHODS=[])

    assert "OTC_AUTH_METHODS" in message
    assert "empty" in message


def test_a_method_named_twice_is_refused(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_METHODS=["jwt", "jwt"])

    assert "OTC_AUTH_METHODS" in message


def test_api_key_method_without_keys_is_refused(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[])

    assert "OTC_AUTH_API_KEYS" in message


def test_jwt_method_without_a_secret_is_refused(make_app: AppFactory) -> None:
    message = refusal(make_app, OTC_AUTH_METHODS=["jwt"], OTC_AUTH_JWT_SECRET=None)

    assert "OTC_AUTH_JWT_SECRET" in message


def test_jwt_secret_shorter_than_32_bytes_is_refused(make_app: AppFactory) -> None:
    short = "s" * 31
    message = refusal(make_app, OTC_AUTH_JWT_SECRET=short, leaked=(short,))

    assert "OTC_AUTH_JWT_SECRET" in message
    assert "OTC_AUTH_JWT_SECRET[" not in message  # a lone secret has no index


def test_short_jwt_secret_inside_a_rotation_list_is_refused_by_index(
    make_app: AppFactory,
) -> None:
    short = "rotated-out-too-short"
    message = refusal(make_app, OTC_AUTH_JWT_SECRET=[JWT_SECRET, short], leaked=(short,))

    assert "OTC_AUTH_JWT_SECRET[1]" in message


def test_jwt_secret_length_is_counted_in_bytes_not_characters(make_app: AppFactory) -> None:
    secret = "é" * 16  # 16 characters, 32 bytes in UTF-8
    app = make_app(OTC_AUTH_METHODS=["jwt"], OTC_AUTH_JWT_SECRET=secret)

    response = app.test_client().get("/tools", headers=bearer(make_token(secret, sub="ann")))

    assert response.status_code == 200


def test_jwt_secret_of_exactly_32_bytes_is_accepted(make_app: AppFactory) -> None:
    secret = "k" * 32
    app = make_app(OTC_AUTH_METHODS=["jwt"], OTC_AUTH_JWT_SECRET=secret)

    response = app.test_client().get("/tools", headers=bearer(make_token(secret, sub="ann")))

    assert response.status_code == 200


def test_plain_api_key_shorter_than_32_characters_is_refused(make_app: AppFactory) -> None:
    short = "k" * 31
    message = refusal(make_app, OTC_AUTH_API_KEYS=[API_KEY, short], leaked=(short,))

    assert "OTC_AUTH_API_KEYS[1]" in message


def test_plain_api_key_of_exactly_32_characters_is_accepted(make_app: AppFactory) -> None:
    key = "k" * 32
    app = make_app(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[key])

    assert app.test_client().get("/tools", headers=api_key(key)).status_code == 200


@pytest.mark.parametrize(
    "key",
    [
        "a key with spaces in it, which is long enough",
        "a-key-with-a-comma," + "x" * 32,
        "a-key-with-non-ascii-ключ-" + "x" * 32,
        "a-key-with-a-tab\t" + "x" * 32,
    ],
    ids=["space", "comma", "non-ascii", "tab"],
)
def test_api_key_a_header_cannot_carry_is_refused(make_app: AppFactory, key: str) -> None:
    message = refusal(make_app, OTC_AUTH_API_KEYS=[key], leaked=(key,))

    assert "OTC_AUTH_API_KEYS[0]" in message


@pytest.mark.parametrize(
    "entry",
    [
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "sha256:",
    ],
    ids=["63-digits", "65-digits", "uppercase", "not-hex", "empty"],
)
def test_malformed_sha256_digest_is_refused(make_app: AppFactory, entry: str) -> None:
    digits = entry.removeprefix("sha256:")
    message = refusal(make_app, OTC_AUTH_API_KEYS=[API_KEY, entry],
                      leaked=(digits,) if digits else ())

    assert "OTC_AUTH_API_KEYS[1]" in message
    assert "sha256:" in message


@pytest.mark.parametrize("name", ["OTC_AUTH_RATELIMIT", "OTC_AUTH_FAILURE_RATELIMIT"])
@pytest.mark.parametrize("value", ["lots/minute", "120/fortnight", "", 120],
                         ids=["words", "unit", "empty", "integer"])
def test_bad_rate_limit_is_refused(make_app: AppFactory, name: str, value: object) -> None:
    message = refusal(make_app, **{name: value})

    assert name in message


@pytest.mark.parametrize("leeway", [301, -1, 1.5, "30"], ids=["over-300", "negative",
                                                            "float", "string"])
def test_bad_leeway_is_refused(make_app: AppFactory, leeway: object) -> None:
    message = refusal(make_app, OTC_AUTH_JWT_LEEWAY=leeway)

    assert "OTC_AUTH_JWT_LEEWAY" in message


def test_leeway_of_300_seconds_is_accepted(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_JWT_LEEWAY=300)

    assert app.extensions["otcauth"].settings(app).of("jwt").leeway == 300


@pytest.mark.parametrize("value", ["true", 1, None], ids=["string", "integer", "none"])
def test_non_boolean_protect_all_is_refused(make_app: AppFactory, value: object) -> None:
    message = refusal(make_app, OTC_AUTH_PROTECT_ALL=value)

    assert "OTC_AUTH_PROTECT_ALL" in message


def test_storage_uri_without_a_scheme_is_refused(make_app: AppFactory) -> None:
    uri = f"default:{STORAGE_PASSWORD}@127.0.0.1:6379/0"
    message = refusal(make_app, OTC_AUTH_RATELIMIT_STORAGE_URI=uri, leaked=(STORAGE_PASSWORD,))

    assert "OTC_AUTH_RATELIMIT_STORAGE_URI" in message


@pytest.mark.parametrize(
    "uri",
    [f"reddis://:{STORAGE_PASSWORD}@127.0.0.1:6379/0",
     f"redis://:{STORAGE_PASSWORD}@127.0.0.1:six-three-seven-nine/0"],
    ids=["unknown-scheme", "port-not-a-number"],
)
def test_storage_uri_the_storage_cannot_use_is_refused_naming_the_key(
    make_app: AppFactory, uri: str
) -> None:
    message = refusal(make_app, OTC_AUTH_RATELIMIT="10/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=uri, leaked=(STORAGE_PASSWORD,))

    assert "OTC_AUTH_RATELIMIT_STORAGE_URI" in message


@pytest.mark.parametrize("headers", [["Authorization"], ["OTC-API-Key", "authorization"]],
                         ids=["alone", "lowercase-in-a-list"])
def test_api_key_headers_naming_authorization_are_refused(
    make_app: AppFactory, headers: list[str]
) -> None:
    message = refusal(make_app, OTC_AUTH_API_KEY_HEADERS=headers)

    assert "OTC_AUTH_API_KEY_HEADERS" in message


def test_a_limiter_together_with_a_storage_uri_is_refused() -> None:
    app = new_app(OTC_AUTH_RATELIMIT="10/minute",
                  OTC_AUTH_RATELIMIT_STORAGE_URI=f"redis://:{STORAGE_PASSWORD}@127.0.0.1:6379/0")
    limiter = Limiter(get_remote_address, storage_uri="memory://")

    with pytest.raises(OTCAuthConfigError) as caught:
        OTCAuth(app, limiter=limiter)

    assert "OTC_AUTH_RATELIMIT_STORAGE_URI" in str(caught.value)
    assert STORAGE_PASSWORD not in str(caught.value)


def test_view_requiring_a_method_the_app_does_not_enable_fails_the_first_request() -> None:
    app = new_app(OTC_AUTH_METHODS=["jwt"])
    app.testing = True
    OTCAuth(app)

    @app.get("/keys-only")
    @require_auth(methods=["api_key"])
    def keys_only() -> str:
        return "never"

    @app.get("/health")
    def health() -> str:
        return "ok"

    with pytest.raises(OTCAuthConfigError) as caught:
        app.test_client().get("/health")

    assert "OTC_AUTH_METHODS" in str(caught.value)
    assert "api_key" in str(caught.value)


def test_view_requiring_a_method_is_not_checked_in_no_auth_mode() -> None:
    app = new_app(OTC_AUTH_METHODS=["none"])
    app.testing = True
    OTCAuth(app)

    @app.get("/keys-only")
    @require_auth(methods=["api_key"])
    def keys_only() -> str:
        return "open"

    response = app.test_client().get("/keys-only")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "open"


# What is accepted -------------------------------------------------------------------------


def test_defaults_apply_to_keys_left_out() -> None:
    app = Flask(__name__)
    app.config.update(OTC_AUTH_JWT_SECRET=JWT_SECRET, OTC_AUTH_API_KEYS=[API_KEY])
    auth = OTCAuth(app)

    settings = auth.settings(app)

    assert settings.methods == ("jwt", "api_key")
    assert settings.of("jwt").max_lifetime == 900
    assert settings.of("jwt").leeway == 0
    assert settings.of("api_key").headers == ("OTC-API-Key", "OXP-API-Key")
    assert settings.protect_all is False


def test_default_rate_limits_are_120_per_minute_and_20_failures_per_minute() -> None:
    app = Flask(__name__)
    app.config.update(OTC_AUTH_JWT_SECRET=JWT_SECRET, OTC_AUTH_API_KEYS=[API_KEY])
    auth = OTCAuth(app)

    settings = auth.settings(app)

    assert settings.ratelimit == (parse("120/minute"),)
    assert settings.failure_ratelimit == (parse("20/minute"),)


def test_a_lone_string_stands_for_a_one_item_list(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS="api_key", OTC_AUTH_API_KEYS=API_KEY)

    response = app.test_client().get("/tools", headers=api_key())

    assert app.extensions["otcauth"].settings(app).methods == ("api_key",)
    assert response.status_code == 200


def test_sha256_digest_entry_authenticates_the_matching_key(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[key_digest(API_KEY)])

    response = app.test_client().get("/tools", headers=api_key())

    assert response.status_code == 200
    assert response.json == {
        "method": "api_key",
        "subject": "key:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:12],
        "client": None,
    }


def test_sha256_digest_entry_does_not_accept_the_digest_itself_as_a_key(
    make_app: AppFactory,
) -> None:
    digest = key_digest(API_KEY)
    app = make_app(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[digest])

    response = app.test_client().get("/tools", headers=api_key(digest))

    assert response.status_code == 401


def test_no_auth_mode_needs_no_credentials(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["none"], OTC_AUTH_API_KEYS=[], OTC_AUTH_JWT_SECRET=None)

    response = app.test_client().get("/tools")

    assert response.status_code == 200
    assert response.json == {"method": "none", "subject": None, "client": None}


def test_no_auth_mode_ignores_a_junk_authorization_header(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["none"])

    response = app.test_client().get("/tools", headers={"Authorization": "Bearer not.a.jwt"})

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["method"] == "none"


def test_settings_are_frozen(make_app: AppFactory) -> None:
    app = make_app()
    settings = app.extensions["otcauth"].settings(app)

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.methods = ("none",)  # type: ignore[misc]

    assert settings.methods == ("jwt", "api_key")


def test_settings_do_not_follow_later_changes_to_app_config(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_METHODS=["api_key"])
    app.config["OTC_AUTH_METHODS"] = ["none"]

    response = app.test_client().get("/tools")

    assert response.status_code == 401


def test_keys_without_the_otc_auth_prefix_are_ignored(make_app: AppFactory) -> None:
    app = make_app(SECRET_KEY="flask", OTC_AUTHORITY="not ours", MY_OTC_AUTH_KEYS=["x"],
                   otc_auth_methods=["none"], OTC_AUTH=True)

    response = app.test_client().get("/tools", headers=bearer(make_token(aud=AUDIENCE)))

    assert response.status_code == 200
    assert app.extensions["otcauth"].settings(app).methods == ("jwt", "api_key")
