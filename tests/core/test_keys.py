"""The issued key format, key records and the key directory, without Flask."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flask_otcauth import OTCAuthConfigError
from flask_otcauth.core.identity import sha256
from flask_otcauth.core.keys import (
    MAX_CACHED_LOOKUPS,
    KeyDirectory,
    KeyLookupError,
    KeyRecord,
    checksum,
    generate_key,
    hash_key,
    is_plausible,
    key_environment,
    parse_record,
    plain_key_record,
)

from ..helpers import API_KEY, FakeClock

ISSUED = re.compile(r"otc_(live|test)_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}")


def record_data(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "ci-bot", "hash": hash_key(API_KEY)}
    data.update(fields)
    return data


def refusal(data: object) -> str:
    with pytest.raises(OTCAuthConfigError) as caught:
        parse_record(data, "OTC_AUTH_API_KEYS[0]")
    return str(caught.value)


# The issued format ------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["live", "test"])
def test_generated_keys_follow_the_issued_format(env: str) -> None:
    key = generate_key(env)

    assert ISSUED.fullmatch(key)
    assert key_environment(key) == env


def test_generated_keys_differ() -> None:
    assert len({generate_key() for _ in range(50)}) == 50


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="live, test"):
        generate_key("prod")


def test_checksum_is_six_base62_characters_of_crc32() -> None:
    assert checksum("otc_live_" + "a" * 32) == checksum("otc_live_" + "a" * 32)
    assert re.fullmatch(r"[0-9A-Za-z]{6}", checksum("otc_test_x"))
    assert checksum("") == "000000"


def test_a_typo_breaks_the_checksum() -> None:
    key = generate_key()
    position = 20
    typo = key[:position] + ("A" if key[position] != "A" else "B") + key[position + 1:]

    assert key_environment(typo) is None
    assert not is_plausible(typo)


def test_a_truncated_issued_key_is_implausible() -> None:
    assert not is_plausible(generate_key()[:-1])


def test_keys_of_other_forms_are_plausible() -> None:
    assert is_plausible(API_KEY)
    assert key_environment(API_KEY) is None


def test_hash_key_is_the_sha256_digest_in_hex() -> None:
    assert hash_key(API_KEY) == "sha256:" + sha256(API_KEY.encode()).hex()


# Records ----------------------------------------------------------------------------------


def test_a_full_record_is_parsed() -> None:
    record = parse_record(record_data(scopes=["tools:list", "tools:call:*"], tenant="acme",
                                      expires_at="2027-01-31T00:00:00Z",
                                      not_before="2026-01-01T00:00:00+01:00", disabled=False),
                          "here")

    assert record.id == "ci-bot"
    assert record.digest == sha256(API_KEY.encode())
    assert record.scopes == frozenset({"tools:list", "tools:call:*"})
    assert record.tenant == "acme"
    assert record.expires_at == datetime(2027, 1, 31, tzinfo=timezone.utc).timestamp()
    assert record.not_before == datetime(2025, 12, 31, 23, tzinfo=timezone.utc).timestamp()
    assert record.disabled is False


def test_a_minimal_record_carries_no_scope_information_and_no_limits() -> None:
    record = parse_record(record_data(), "here")

    assert record.scopes is None  # granted OTC_AUTH_SCOPELESS_GRANTS, not held to "none"
    assert (record.tenant, record.expires_at, record.not_before) == (None, None, None)


def test_a_record_written_with_empty_scopes_holds_no_scope() -> None:
    assert parse_record(record_data(scopes=[]), "here").scopes == frozenset()


def test_a_plain_key_carries_no_scope_information() -> None:
    assert plain_key_record(sha256(API_KEY.encode())).scopes is None


def test_times_may_be_aware_datetimes_or_epoch_seconds() -> None:
    moment = datetime(2027, 1, 31, tzinfo=timezone(timedelta(hours=2)))
    record = parse_record(record_data(expires_at=moment, not_before=1_700_000_000), "here")

    assert record.expires_at == moment.timestamp()
    assert record.not_before == 1_700_000_000.0


def test_the_record_repr_hides_the_digest() -> None:
    record = parse_record(record_data(), "here")

    assert sha256(API_KEY.encode()).hex() not in repr(record)


@pytest.mark.parametrize(("data", "expected"), [
    ("not a record", "must be a key string"),
    ({"hash": hash_key(API_KEY)}, "OTC_AUTH_API_KEYS[0].id must be"),
    (record_data(id=""), ".id must be"),
    (record_data(id="two words"), ".id must be"),
    (record_data(scope=["x"]), "unknown field 'scope'. Did you mean scopes?"),
    (record_data(hash=API_KEY), 'hash must be "sha256:<64 hex>"'),
    (record_data(hash="sha256:abc"), "malformed digest"),
    (record_data(scopes="tools:list"), ".scopes must be a list"),
    (record_data(scopes=["tools list"]), ".scopes: "),
    (record_data(scopes=['say"hi']), ".scopes: "),
    (record_data(tenant=""), ".tenant must be"),
    (record_data(tenant=7), ".tenant must be"),
    (record_data(expires_at="tomorrow"), ".expires_at is not an ISO 8601 time"),
    (record_data(expires_at="2027-01-31T00:00:00"), ".expires_at has no time zone"),
    (record_data(expires_at=datetime(2027, 1, 31)), ".expires_at has no time zone"),
    (record_data(expires_at=True), ".expires_at must be"),
    (record_data(not_before="2027-02-01T00:00:00Z", expires_at="2027-01-31T00:00:00Z"),
     ".not_before is not before its expires_at"),
    (record_data(disabled="no"), ".disabled must be true or false"),
])
def test_a_bad_record_is_refused_naming_its_field(data: object, expected: str) -> None:
    message = refusal(data)

    assert expected in message
    assert API_KEY not in message


def test_the_refusal_names_the_record_by_id() -> None:
    assert 'OTC_AUTH_API_KEYS[0] (id "ci-bot").tenant' in refusal(record_data(tenant=""))


# Validity at a moment ----------------------------------------------------------------------


def test_a_record_is_usable_between_not_before_and_expires_at() -> None:
    record = KeyRecord(id="a", digest=b"d", not_before=100.0, expires_at=200.0)

    assert record.refusal(99.0) == "not yet valid"
    assert record.refusal(100.0) is None
    assert record.refusal(199.9) is None
    assert record.refusal(200.0) == "expired"


def test_a_disabled_record_is_refused() -> None:
    assert KeyRecord(id="a", digest=b"d", disabled=True).refusal(0.0) == "disabled"


# The directory ----------------------------------------------------------------------------


class CountingLoader:
    """A loader over a dict of records, counting how often it is asked."""

    def __init__(self, records: Mapping[str, Any] | None = None) -> None:
        self.records = dict(records or {})
        self.calls: list[str] = []

    def __call__(self, digest: str) -> Any:
        self.calls.append(digest)
        return self.records.get(digest)


def test_configured_records_are_found_by_digest() -> None:
    record = parse_record(record_data(), "here")

    assert KeyDirectory([record]).lookup(record.digest) is record
    assert KeyDirectory([record]).lookup(sha256(b"other")) is None


def test_the_loader_gets_the_hash_never_the_key() -> None:
    loader = CountingLoader({hash_key(API_KEY): record_data(scopes=["tools:list"])})
    record = KeyDirectory(loader=loader).lookup(sha256(API_KEY.encode()))

    assert record is not None
    assert record.scopes == frozenset({"tools:list"})
    assert loader.calls == [hash_key(API_KEY)]


def test_a_loader_record_with_another_hash_does_not_match() -> None:
    loader = CountingLoader({hash_key(API_KEY): record_data(hash=hash_key("other-key"))})

    assert KeyDirectory(loader=loader).lookup(sha256(API_KEY.encode())) is None


def test_configured_records_are_not_looked_up_by_the_loader() -> None:
    loader = CountingLoader()
    record = parse_record(record_data(), "here")

    KeyDirectory([record], loader).lookup(record.digest)

    assert loader.calls == []


def test_loader_answers_are_cached_for_the_ttl() -> None:
    clock = FakeClock()
    loader = CountingLoader({hash_key(API_KEY): record_data()})
    directory = KeyDirectory(loader=loader, cache_ttl=60, clock=clock)
    digest = sha256(API_KEY.encode())

    directory.lookup(digest)
    clock.now += 59
    directory.lookup(digest)
    assert len(loader.calls) == 1

    clock.now += 2
    directory.lookup(digest)
    assert len(loader.calls) == 2


def test_unknown_keys_are_cached_briefly() -> None:
    clock = FakeClock()
    loader = CountingLoader()
    directory = KeyDirectory(loader=loader, cache_ttl=60, negative_cache_ttl=5, clock=clock)
    digest = sha256(API_KEY.encode())

    directory.lookup(digest)
    directory.lookup(digest)
    assert len(loader.calls) == 1

    loader.records[hash_key(API_KEY)] = record_data()
    clock.now += 6
    assert directory.lookup(digest) is not None


def test_a_zero_ttl_asks_the_loader_every_time() -> None:
    loader = CountingLoader()
    directory = KeyDirectory(loader=loader, cache_ttl=0, negative_cache_ttl=0)

    for _ in range(3):
        directory.lookup(sha256(API_KEY.encode()))

    assert len(loader.calls) == 3


def test_the_cache_is_bounded() -> None:
    loader = CountingLoader()
    directory = KeyDirectory(loader=loader, negative_cache_ttl=60)
    for number in range(MAX_CACHED_LOOKUPS + 1):
        directory.lookup(number.to_bytes(32, "big"))

    directory.lookup((0).to_bytes(32, "big"))  # the oldest entry was dropped

    assert len(loader.calls) == MAX_CACHED_LOOKUPS + 2


def test_a_failing_loader_raises_a_lookup_error_and_is_not_cached() -> None:
    calls = []

    def broken(digest: str) -> None:
        calls.append(digest)
        raise ConnectionError("database is down")

    directory = KeyDirectory(loader=broken)
    for _ in range(2):
        with pytest.raises(KeyLookupError):
            directory.lookup(sha256(API_KEY.encode()))

    assert len(calls) == 2


def test_an_invalid_loader_record_is_a_lookup_error(caplog: pytest.LogCaptureFixture) -> None:
    directory = KeyDirectory(loader=CountingLoader({hash_key(API_KEY): record_data(tenant=3)}))

    with pytest.raises(KeyLookupError):
        directory.lookup(sha256(API_KEY.encode()))

    assert "tenant must be" in caplog.text
