"""Start-up refusals of the hmac and shared-storage settings, each naming the key to fix."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from flask_otcauth import OTCAuth, OTCAuthConfigError
from flask_otcauth.core.storage import MemoryStorage, RedisStorage

from ..conftest import AppFactory, base_config
from ..helpers import API_KEY, HMAC_CLIENT, HMAC_SECRET, JWT_SECRET


def hmac_settings(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"OTC_AUTH_METHODS": ["hmac"],
                                "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: HMAC_SECRET}}
    settings.update(overrides)
    return settings


def refused(make_app: AppFactory, **overrides: Any) -> str:
    with pytest.raises(OTCAuthConfigError) as raised:
        make_app(**hmac_settings(**overrides))
    return str(raised.value)


def test_hmac_method_without_clients_is_refused(make_app: AppFactory) -> None:
    assert "OTC_AUTH_HMAC_CLIENTS is empty" in refused(make_app, OTC_AUTH_HMAC_CLIENTS={})


def test_short_signing_secret_is_refused_without_quoting_it(make_app: AppFactory) -> None:
    message = refused(make_app, OTC_AUTH_HMAC_CLIENTS={"a": "short-secret-value"})

    assert 'OTC_AUTH_HMAC_CLIENTS["a"] is 18 bytes' in message
    assert "short-secret-value" not in message


def test_short_previous_secret_is_refused_by_index(make_app: AppFactory) -> None:
    message = refused(make_app, OTC_AUTH_HMAC_CLIENTS={"a": [HMAC_SECRET, "x" * 31]})

    assert 'OTC_AUTH_HMAC_CLIENTS["a"][1] is 31 bytes' in message


@pytest.mark.parametrize("clients", [["a", HMAC_SECRET], "a=secret"])
def test_clients_that_are_not_a_mapping_are_refused(make_app: AppFactory, clients: Any) -> None:
    assert "OTC_AUTH_HMAC_CLIENTS must be a mapping" in refused(
        make_app, OTC_AUTH_HMAC_CLIENTS=clients)


@pytest.mark.parametrize("entry", [[], 42, [HMAC_SECRET, 7]])
def test_malformed_secret_entry_is_refused(make_app: AppFactory, entry: Any) -> None:
    assert 'OTC_AUTH_HMAC_CLIENTS["a"]' in refused(make_app, OTC_AUTH_HMAC_CLIENTS={"a": entry})


@pytest.mark.parametrize("client_id", ["", 'say "hi"', "back\\slash", "sp ace", "x" * 129])
def test_client_id_a_keyid_cannot_carry_is_refused(make_app: AppFactory, client_id: str) -> None:
    assert "client id" in refused(make_app, OTC_AUTH_HMAC_CLIENTS={client_id: HMAC_SECRET})


@pytest.mark.parametrize(("reused", "owner"), [(API_KEY, "api_key"), (JWT_SECRET, "jwt")])
def test_signing_secret_reused_from_a_key_or_jwt_secret_is_refused(
    make_app: AppFactory, reused: str, owner: str
) -> None:
    message = refused(make_app, OTC_AUTH_METHODS=["hmac", "jwt", "api_key"],
                      OTC_AUTH_HMAC_CLIENTS={"a": reused})

    assert f'OTC_AUTH_HMAC_CLIENTS["a"] is also configured as a secret of "{owner}"' in message


@pytest.mark.parametrize("value", [0, -5, 3601, "300", True])
def test_bad_max_age_is_refused(make_app: AppFactory, value: object) -> None:
    assert "OTC_AUTH_HMAC_MAX_AGE" in refused(make_app, OTC_AUTH_HMAC_MAX_AGE=value)


@pytest.mark.parametrize("value", [-1, 301, 1.5])
def test_bad_hmac_leeway_is_refused(make_app: AppFactory, value: object) -> None:
    assert "OTC_AUTH_HMAC_LEEWAY" in refused(make_app, OTC_AUTH_HMAC_LEEWAY=value)


def test_storage_uri_of_an_unsupported_kind_is_refused(make_app: AppFactory) -> None:
    message = refused(make_app, OTC_AUTH_STORAGE_URI="memcached://127.0.0.1:11211")

    assert "OTC_AUTH_STORAGE_URI" in message
    assert '"memcached"' in message


def test_storage_uri_without_a_scheme_is_refused(make_app: AppFactory) -> None:
    assert "OTC_AUTH_STORAGE_URI" in refused(make_app, OTC_AUTH_STORAGE_URI="localhost:6379")


def test_storage_error_names_the_rate_limit_key_it_was_taken_from(make_app: AppFactory) -> None:
    message = refused(make_app, OTC_AUTH_RATELIMIT_STORAGE_URI="memcached://127.0.0.1:11211")

    assert "OTC_AUTH_RATELIMIT_STORAGE_URI (OTC_AUTH_STORAGE_URI unset)" in message


def test_storage_is_memory_by_default(make_app: AppFactory) -> None:
    app = make_app(**hmac_settings())

    assert isinstance(app.extensions["otcauth"].storage(app), MemoryStorage)


def test_storage_follows_the_rate_limit_storage_uri(make_app: AppFactory) -> None:
    app = make_app(**hmac_settings(OTC_AUTH_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                                   OTC_AUTH_RATELIMIT="10/minute"))

    assert app.extensions["otcauth"].settings(app).storage_uri == "redis://127.0.0.1:1/0"
    assert isinstance(app.extensions["otcauth"].storage(app), RedisStorage)


def test_storage_uri_overrides_the_rate_limit_storage(make_app: AppFactory) -> None:
    app = make_app(**hmac_settings(OTC_AUTH_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                                   OTC_AUTH_STORAGE_URI="memory://"))

    assert isinstance(app.extensions["otcauth"].storage(app), MemoryStorage)


def test_storage_is_one_object_per_app(make_app: AppFactory) -> None:
    app = make_app(**hmac_settings())
    auth = app.extensions["otcauth"]

    assert auth.storage(app) is auth.storage(app)


def test_storage_follows_a_given_limiters_storage_uri() -> None:
    limiter = Limiter(get_remote_address, storage_uri="redis://127.0.0.1:1/0")
    app = Flask(__name__)
    app.config.update(base_config(**hmac_settings(OTC_AUTH_RATELIMIT="10/minute")))
    auth = OTCAuth(app, limiter=limiter)

    assert isinstance(auth.storage(app), RedisStorage)


def test_storage_follows_the_rate_limit_config_of_a_given_limiter() -> None:
    app = Flask(__name__)
    app.config.update(base_config(**hmac_settings(OTC_AUTH_RATELIMIT="10/minute")),
                      RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    auth = OTCAuth(app, limiter=Limiter(get_remote_address))

    assert isinstance(auth.storage(app), RedisStorage)


def test_a_wrong_storage_uri_fails_init_app_without_hmac(make_app: AppFactory) -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_STORAGE_URI"):
        make_app(OTC_AUTH_STORAGE_URI="mongodb://127.0.0.1/0")
