"""The key client through HTTP, against a real JWK Set server on 127.0.0.1 counting its
fetches, on a controlled clock."""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from flask_otcauth.core.audit import keys_stale
from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from .conftest import RESOURCE, Clock, bearer, oauth_app

TTL, COOLDOWN, MAX_STALE = 300, 30, 3600
SETTINGS: dict[str, Any] = {"OTC_AUTH_OAUTH_JWKS_TTL": TTL,
                            "OTC_AUTH_OAUTH_JWKS_COOLDOWN": COOLDOWN,
                            "OTC_AUTH_OAUTH_JWKS_MAX_STALE": MAX_STALE}


def status(app: Any, issuer: LocalIssuer, clock: Clock, **options: Any) -> int:
    token = issuer.make_token(audience=RESOURCE, now=clock.now, **options)
    return int(app.test_client().get("/api/whoami", headers=bearer(token)).status_code)


def test_keys_are_kept_for_the_ttl(issuer: LocalIssuer, clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)

    assert [status(app, issuer, clock, sub=f"u{n}") for n in range(5)] == [200] * 5
    assert issuer.fetches == 1
    clock.now += TTL + 1
    assert status(app, issuer, clock) == 200
    assert issuer.fetches == 2


def test_cache_control_max_age_replaces_the_ttl(issuer: LocalIssuer, clock: Clock) -> None:
    issuer.cache_control = "public, max-age=1000"
    app = oauth_app(issuer, **SETTINGS)

    assert status(app, issuer, clock) == 200
    clock.now += TTL + 100
    assert status(app, issuer, clock) == 200
    assert issuer.fetches == 1
    clock.now += 1000
    assert status(app, issuer, clock) == 200
    assert issuer.fetches == 2


def test_no_store_keeps_the_keys_only_for_the_cooldown(issuer: LocalIssuer, clock: Clock) -> None:
    issuer.cache_control = "no-store"
    app = oauth_app(issuer, **SETTINGS)

    assert status(app, issuer, clock) == 200
    clock.now += COOLDOWN + 1
    assert status(app, issuer, clock) == 200
    assert issuer.fetches == 2


def test_a_rotation_is_picked_up_by_the_first_token_with_the_new_kid(
        issuer: LocalIssuer, clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)
    assert status(app, issuer, clock) == 200
    issuer.rotate("RSA")
    clock.now += COOLDOWN + 1

    assert status(app, issuer, clock, sub="after-rotation") == 200
    assert issuer.fetches == 2


def test_random_kids_cause_at_most_one_fetch_per_cooldown(issuer: LocalIssuer,
                                                          clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)
    assert status(app, issuer, clock) == 200
    clock.now += COOLDOWN + 1

    flood = [status(app, issuer, clock, kid=secrets.token_hex(8)) for _ in range(50)]

    assert flood == [401] * 50
    assert issuer.fetches == 2  # the first unknown kid refetched; the 49 others did not
    clock.now += COOLDOWN + 1
    assert status(app, issuer, clock, kid=secrets.token_hex(8)) == 401
    assert issuer.fetches == 3


def test_random_kids_right_after_a_fetch_cause_no_fetch(issuer: LocalIssuer,
                                                         clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)
    assert status(app, issuer, clock) == 200

    assert [status(app, issuer, clock, kid=secrets.token_hex(8)) for _ in range(20)] == [401] * 20
    assert issuer.fetches == 1


def test_one_fetch_is_in_flight_per_issuer(issuer: LocalIssuer) -> None:
    issuer.delay = 0.3
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE)
    results: list[int] = []

    def call() -> None:
        results.append(app.test_client().get("/api/whoami", headers=bearer(token)).status_code)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [200] * 6
    assert issuer.fetches == 1


def test_the_last_good_keys_serve_while_the_issuer_is_down(
        issuer: LocalIssuer, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    app = oauth_app(issuer, **SETTINGS)
    assert status(app, issuer, clock) == 200
    issuer.available = False
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **facts: Any) -> None:
        seen.append(facts)

    keys_stale.connect(receiver)
    try:
        clock.now += TTL + 1
        with caplog.at_level(logging.WARNING, logger="flask_otcauth"):
            assert status(app, issuer, clock, sub="during-outage") == 200
    finally:
        keys_stale.disconnect(receiver)

    assert "serving the keys fetched" in caplog.text
    assert seen and seen[0]["issuer"] == issuer.issuer and seen[0]["serving"] is True
    clock.now = clock.now - TTL - 1 + MAX_STALE - 10
    assert status(app, issuer, clock, sub="still-within") == 200


def test_with_the_issuer_stopped_cached_keys_work_until_the_maximum_staleness(
        issuer: LocalIssuer, clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)
    assert status(app, issuer, clock) == 200
    issuer.stop()  # connections refused from now on
    started = clock.now

    clock.now = started + TTL + 1
    assert status(app, issuer, clock, sub="a") == 200
    clock.now = started + MAX_STALE
    assert status(app, issuer, clock, sub="b") == 200
    clock.now = started + MAX_STALE + 1
    assert status(app, issuer, clock, sub="c") == 401


def test_past_the_maximum_staleness_tokens_are_refused(issuer: LocalIssuer,
                                                       clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)
    assert status(app, issuer, clock) == 200
    issuer.available = False
    clock.now += MAX_STALE + 1
    token = issuer.make_token(audience=RESOURCE, now=clock.now)

    response = app.test_client().get("/api/whoami", headers=bearer(token))

    assert_refused(response, 401, "invalid_token", hint="cannot be fetched")
    issuer.available = True
    clock.now += COOLDOWN + 1
    assert status(app, issuer, clock, sub="recovered") == 200


def test_a_remembered_token_is_not_accepted_past_the_maximum_staleness(
        issuer: LocalIssuer, clock: Clock) -> None:
    app = oauth_app(issuer, **SETTINGS)
    token = issuer.make_token(audience=RESOURCE, now=clock.now, ttl=MAX_STALE * 2)
    client = app.test_client()
    assert client.get("/api/whoami", headers=bearer(token)).status_code == 200
    issuer.available = False

    clock.now += MAX_STALE + 1

    assert client.get("/api/whoami", headers=bearer(token)).status_code == 401


def test_a_redirect_is_never_followed(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry=issuer.config(jwks_uri=f"{issuer.issuer}/redirect"))

    response = app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE)))

    assert_refused(response, 401, "invalid_token", hint="cannot be fetched")
    assert issuer.fetches == 0


def test_a_key_set_over_64_kib_is_refused(issuer: LocalIssuer) -> None:
    issuer.extra_members = [{"kty": "unknown", "padding": "x" * 70_000}]
    app = oauth_app(issuer)

    assert app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE))).status_code == 401


def test_unusable_keys_are_skipped_and_the_others_still_work(issuer: LocalIssuer) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    issuer.extra_members = [
        {"kty": "unknown", "kid": "odd"},
        {**RSAAlgorithm.to_jwk(small.public_key(), as_dict=True), "kid": "small"},
        {**RSAAlgorithm.to_jwk(small.public_key(), as_dict=True), "kid": "enc", "use": "enc"},
    ]
    app = oauth_app(issuer)
    client = app.test_client()

    assert client.get("/api/whoami", headers=bearer(issuer.make_token(
        audience=RESOURCE))).status_code == 200
    for kid in ("odd", "small", "enc"):
        assert_refused(client.get("/api/whoami", headers=bearer(issuer.make_token(
            audience=RESOURCE, kid=kid))), 401, "invalid_token", hint="kid names no key")


def test_a_fetched_set_with_private_members_is_refused_with_a_warning(
        issuer: LocalIssuer, caplog: pytest.LogCaptureFixture) -> None:
    issuer.extra_members = [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"}]
    app = oauth_app(issuer)

    with caplog.at_level(logging.WARNING, logger="flask_otcauth"):
        response = app.test_client().get("/api/whoami", headers=bearer(
            issuer.make_token(audience=RESOURCE)))

    assert_refused(response, 401, "invalid_token")
    assert "private or symmetric key material" in caplog.text
    assert "secret" not in caplog.text


def test_discovery_finds_the_key_set_through_rfc_8414_metadata(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry={"issuer": issuer.issuer})

    assert app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE))).status_code == 200
    assert issuer.fetches == 1


def test_discovery_falls_back_to_openid_connect_discovery(issuer: LocalIssuer) -> None:
    issuer.metadata_paths = {"/.well-known/openid-configuration"}
    app = oauth_app(None, entry={"issuer": issuer.issuer})

    assert app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE))).status_code == 200


def test_discovery_refuses_metadata_naming_another_issuer(issuer: LocalIssuer) -> None:
    """RFC 8414 section 3.3: the issuer in the metadata must be identical."""
    issuer.metadata_issuer = "https://evil.example.com"
    app = oauth_app(None, entry={"issuer": issuer.issuer})

    assert app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE))).status_code == 401
    assert issuer.fetches == 0
