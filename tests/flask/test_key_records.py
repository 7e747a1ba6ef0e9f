"""API key records through HTTP: each field, rotation, the issued format, the loader."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from flask_otcauth import OTCAuth, OTCAuthConfigError, current_identity, generate_key, hash_key
from flask_otcauth import require_auth as require_auth_
from flask_otcauth.core.keys import KeyDirectory, checksum

from ..conftest import base_config
from ..helpers import (
    API_KEY,
    OTHER_API_KEY,
    FakeClock,
    api_key,
    assert_refused,
    iso,
    key_record,
)

NEW_KEY = generate_key("live")
HOUR = 3600


def records_app(*records: Any, auth: OTCAuth | None = None, **overrides: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=list(records), **overrides))
    (auth or OTCAuth()).init_app(app)

    @app.get("/whoami")
    @require_auth_(methods=["api_key"])
    def whoami() -> dict[str, Any]:
        return {"subject": current_identity.subject, "tenant": current_identity.tenant,
                "scopes": sorted(current_identity.scopes)}

    return app


def get(app: Flask, key: str = API_KEY, **kwargs: Any) -> TestResponse:
    return app.test_client().get("/whoami", headers=api_key(key), **kwargs)


# The one 401 body of every refused key: no field says why.
REFUSED_KEY_BODY = {
    "error": "invalid_api_key",
    "message": "The API key is not valid.",
    "developer_message": "Send a valid key in the OTC-API-Key header.",
}


# Fields -----------------------------------------------------------------------------------


def test_record_id_is_the_subject() -> None:
    assert get(records_app(key_record())).json == {"subject": "ci-bot", "tenant": None,
                                               "scopes": []}


def test_record_scopes_and_tenant_reach_the_identity() -> None:
    app = records_app(key_record(scopes=["tools:list", "tools:call:*"], tenant="acme"))

    assert get(app).json == {"subject": "ci-bot", "tenant": "acme",
                             "scopes": ["tools:call:*", "tools:list"]}


def test_expired_key_is_refused() -> None:
    assert_refused(get(records_app(key_record(expires_at=iso(-1)))), 401, "invalid_api_key",
                   body=REFUSED_KEY_BODY)


def test_key_before_its_expiry_is_accepted() -> None:
    assert get(records_app(key_record(expires_at=iso(HOUR)))).status_code == 200


def test_not_yet_valid_key_is_refused() -> None:
    assert_refused(get(records_app(key_record(not_before=iso(HOUR)))), 401, "invalid_api_key",
                   body=REFUSED_KEY_BODY)


def test_key_after_not_before_is_accepted() -> None:
    assert get(records_app(key_record(not_before=iso(-HOUR)))).status_code == 200


def test_disabled_key_is_refused() -> None:
    assert_refused(get(records_app(key_record(disabled=True))), 401, "invalid_api_key",
                   body=REFUSED_KEY_BODY)


def test_unknown_key_gets_the_same_refusal() -> None:
    assert_refused(get(records_app(key_record()), OTHER_API_KEY), 401, "invalid_api_key",
                   body=REFUSED_KEY_BODY)


def test_mistyped_issued_key_gets_the_same_refusal() -> None:
    typo = NEW_KEY[:-1] + ("a" if NEW_KEY[-1] != "a" else "b")

    assert_refused(get(records_app(key_record(NEW_KEY)), typo), 401, "invalid_api_key",
                   body=REFUSED_KEY_BODY)


def test_issued_key_is_accepted() -> None:
    assert get(records_app(key_record(NEW_KEY)), NEW_KEY).status_code == 200


def issued_key(random_part: str, env: str = "live") -> str:
    """A key in the issued format around ``random_part``, with its valid checksum."""
    body = f"otc_{env}_{random_part}"
    return f"{body}_{checksum(body)}"


@pytest.mark.parametrize("source", ["configured", "loader"])
def test_issued_key_with_a_random_part_longer_than_32_is_accepted(source: str) -> None:
    key = issued_key(secrets.token_hex(24))  # 48 base62 characters
    record = key_record(key, scopes=["tools:list"], tenant="acme")
    rows = {record["hash"]: record}
    app = records_app(record) if source == "configured" else loader_app(rows.get)

    assert get(app, key).json == {"subject": "ci-bot", "tenant": "acme", "scopes": ["tools:list"]}


def test_issued_key_with_a_31_character_random_part_is_malformed() -> None:
    key = issued_key(secrets.token_hex(16)[:31])
    calls: list[str] = []

    def load(digest: str) -> dict[str, Any] | None:
        calls.append(digest)
        return key_record(key)

    assert_refused(get(loader_app(load), key), 401, "invalid_api_key", body=REFUSED_KEY_BODY)
    assert calls == []  # refused without a query, although the loader has a record for it


def test_refusal_reason_is_logged_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flask_otcauth"):
        get(records_app(key_record(expires_at=iso(-1))))

    assert 'API key refused: expired (record "ci-bot")' in caplog.text
    assert API_KEY not in caplog.text


def test_plain_strings_and_digests_keep_working_beside_records() -> None:
    app = records_app(key_record(NEW_KEY), OTHER_API_KEY, hash_key(API_KEY))

    for key in (NEW_KEY, OTHER_API_KEY, API_KEY):
        assert get(app, key).status_code == 200


# Rotation ---------------------------------------------------------------------------------


def test_rotation_keeps_the_old_key_working_until_it_expires() -> None:
    app = records_app(key_record(API_KEY, expires_at=iso(HOUR)), key_record(NEW_KEY))

    assert get(app, API_KEY).json == get(app, NEW_KEY).json == {
        "subject": "ci-bot", "tenant": None, "scopes": []}


def test_rotation_ends_when_the_old_key_expires() -> None:
    app = records_app(key_record(API_KEY, expires_at=iso(-1)), key_record(NEW_KEY))

    assert_refused(get(app, API_KEY), 401, "invalid_api_key", body=REFUSED_KEY_BODY)
    assert get(app, NEW_KEY).status_code == 200


def test_rotated_keys_share_one_rate_limit_budget() -> None:
    app = records_app(key_record(API_KEY), key_record(NEW_KEY), OTC_AUTH_RATELIMIT="2/minute")

    assert [get(app, key).status_code for key in (API_KEY, NEW_KEY, API_KEY)] == [200, 200, 429]


def test_the_tenant_is_part_of_the_rate_limit_bucket() -> None:
    app = records_app(key_record(API_KEY, tenant="acme"), key_record(NEW_KEY, tenant="globex"),
                      OTC_AUTH_RATELIMIT="1/minute")

    assert [get(app, key).status_code for key in (API_KEY, NEW_KEY, API_KEY, NEW_KEY)] == [
        200, 200, 429, 429]


# Configuration ----------------------------------------------------------------------------


def test_a_bad_record_stops_init_app_naming_key_and_field() -> None:
    with pytest.raises(OTCAuthConfigError, match=r'OTC_AUTH_API_KEYS\[1\] \(id "ci-bot"\)'
                                                 r"\.expires_at has no time zone"):
        records_app(OTHER_API_KEY, key_record(expires_at="2027-01-31T00:00:00"))


def test_the_same_key_as_record_and_string_is_refused() -> None:
    with pytest.raises(OTCAuthConfigError, match=r"OTC_AUTH_API_KEYS\[1\] and "
                                                 r"OTC_AUTH_API_KEYS\[0\] are the same key"):
        records_app(API_KEY, key_record())


def test_a_mistyped_issued_key_in_config_is_refused() -> None:
    with pytest.raises(OTCAuthConfigError, match="checksum does not match"):
        records_app(NEW_KEY[:-1] + ("a" if NEW_KEY[-1] != "a" else "b"))


@pytest.mark.parametrize("name", ["OTC_AUTH_API_KEY_CACHE_TTL",
                                  "OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL"])
def test_cache_ttls_must_be_whole_seconds(name: str) -> None:
    overrides: dict[str, Any] = {name: -1}
    with pytest.raises(OTCAuthConfigError, match=name):
        records_app(key_record(), **overrides)


# The loader -------------------------------------------------------------------------------


Loader = Callable[[str], Any]


def loader_app(loader: Loader, **overrides: Any) -> Flask:
    auth = OTCAuth()
    auth.api_key_loader(loader)
    return records_app(auth=auth, **overrides)


def test_loader_records_authenticate() -> None:
    rows = {hash_key(NEW_KEY): key_record(NEW_KEY, scopes=["tools:list"], tenant="acme")}

    response = get(loader_app(rows.get), NEW_KEY)

    assert response.json == {"subject": "ci-bot", "tenant": "acme", "scopes": ["tools:list"]}


def test_loader_can_be_given_to_the_constructor() -> None:
    rows = {hash_key(NEW_KEY): key_record(NEW_KEY)}
    auth = OTCAuth(api_key_loader=rows.get)

    assert get(records_app(auth=auth), NEW_KEY).status_code == 200


def test_loader_records_are_checked_for_validity() -> None:
    rows = {hash_key(NEW_KEY): key_record(NEW_KEY, disabled=True)}

    assert_refused(get(loader_app(rows.get), NEW_KEY), 401, "invalid_api_key",
                   body=REFUSED_KEY_BODY)


def test_loader_lookups_are_cached() -> None:
    calls: list[str] = []

    def load(digest: str) -> dict[str, Any] | None:
        calls.append(digest)
        return key_record(NEW_KEY) if digest == hash_key(NEW_KEY) else None

    app = loader_app(load)
    for key in (NEW_KEY, NEW_KEY, OTHER_API_KEY, OTHER_API_KEY):
        get(app, key)

    assert calls == [hash_key(NEW_KEY), hash_key(OTHER_API_KEY)]


class KeyTable:
    """A loader over records by hash, remembering every digest it is asked for."""

    def __init__(self, *records: dict[str, Any]) -> None:
        self.rows = {record["hash"]: record for record in records}
        self.asked: list[str] = []

    def __call__(self, digest: str) -> dict[str, Any] | None:
        self.asked.append(digest)
        return self.rows.get(digest)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock of the loader cache, moved by the test.

    KeyDirectory binds ``time.monotonic`` as its ``clock`` default when keys.py is imported, so
    patching ``time.monotonic`` would not reach it: the default itself is replaced, before the
    app (and with it the directory) is built.
    """
    fake = FakeClock()
    defaults = KeyDirectory.__init__.__kwdefaults__
    assert defaults is not None
    assert "clock" in defaults, "KeyDirectory no longer takes clock=: update this fixture"
    monkeypatch.setitem(defaults, "clock", fake)
    return fake


def test_with_zero_cache_ttls_the_loader_is_asked_on_every_request() -> None:
    table = KeyTable(key_record(NEW_KEY))
    app = loader_app(table, OTC_AUTH_API_KEY_CACHE_TTL=0, OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL=0)

    statuses = [get(app, key).status_code for key in (NEW_KEY, NEW_KEY, OTHER_API_KEY,
                                                      OTHER_API_KEY)]

    assert statuses == [200, 200, 401, 401]
    assert table.asked == [hash_key(NEW_KEY)] * 2 + [hash_key(OTHER_API_KEY)] * 2


def test_a_found_record_is_asked_for_again_after_60_seconds(clock: FakeClock) -> None:
    table = KeyTable(key_record(NEW_KEY))
    app = loader_app(table)
    assert get(app, NEW_KEY).status_code == 200
    table.rows[hash_key(NEW_KEY)] = key_record(NEW_KEY, disabled=True)

    clock.now += 59
    assert get(app, NEW_KEY).status_code == 200  # the cached record
    clock.now += 1
    assert_refused(get(app, NEW_KEY), 401, "invalid_api_key", body=REFUSED_KEY_BODY)
    assert len(table.asked) == 2


def test_an_unknown_key_is_asked_for_again_after_5_seconds(clock: FakeClock) -> None:
    table = KeyTable()
    app = loader_app(table)
    assert_refused(get(app, NEW_KEY), 401, "invalid_api_key", body=REFUSED_KEY_BODY)
    table.rows[hash_key(NEW_KEY)] = key_record(NEW_KEY)

    clock.now += 4
    # the cached "no such key"
    assert_refused(get(app, NEW_KEY), 401, "invalid_api_key", body=REFUSED_KEY_BODY)
    clock.now += 1
    assert get(app, NEW_KEY).status_code == 200
    assert len(table.asked) == 2


@pytest.mark.parametrize(("setting", "ttl", "records"), [
    ("OTC_AUTH_API_KEY_CACHE_TTL", 10, [key_record(NEW_KEY)]),
    ("OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL", 2, []),
], ids=["record", "miss"])
def test_a_cache_ttl_setting_sets_how_long_an_answer_is_cached(
    clock: FakeClock, setting: str, ttl: int, records: list[dict[str, Any]]
) -> None:
    table = KeyTable(*records)
    app = loader_app(table, **{setting: ttl})
    get(app, NEW_KEY)

    clock.now += ttl - 1
    get(app, NEW_KEY)
    assert len(table.asked) == 1
    clock.now += 1
    get(app, NEW_KEY)
    assert len(table.asked) == 2


def test_loader_is_not_asked_for_a_mistyped_issued_key() -> None:
    calls: list[str] = []
    app = loader_app(calls.append)

    get(app, NEW_KEY[:-1] + ("a" if NEW_KEY[-1] != "a" else "b"))

    assert calls == []


def test_failing_loader_is_503_and_not_a_failed_attempt(caplog: pytest.LogCaptureFixture) -> None:
    def load(digest: str) -> None:
        raise ConnectionError("database unreachable")

    app = loader_app(load, OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    responses = [get(app, NEW_KEY) for _ in range(3)]

    assert [response.status_code for response in responses] == [503, 503, 503]
    assert responses[0].json is not None
    assert responses[0].json["error"] == "key_lookup_unavailable"
    assert responses[0].headers["Retry-After"] == "5"
    assert "WWW-Authenticate" not in responses[0].headers
    assert "API key loader failed (ConnectionError)" in caplog.text


def test_a_loader_makes_configured_keys_optional() -> None:
    assert get(loader_app(lambda digest: None)).status_code == 401


def test_loader_registered_after_init_app_is_refused() -> None:
    auth = OTCAuth()
    records_app(key_record(), auth=auth)

    with pytest.raises(RuntimeError, match="before init_app"):
        auth.api_key_loader(lambda digest: None)


def test_without_keys_or_loader_init_app_names_the_loader_as_a_fix() -> None:
    with pytest.raises(OTCAuthConfigError, match="api_key_loader"):
        records_app()
