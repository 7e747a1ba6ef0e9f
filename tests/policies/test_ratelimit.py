"""A policy's own rate limit through HTTP: it replaces OTC_AUTH_RATELIMIT for that caller, in
memory and on Redis (the admit script), with the app's limits on or off.

Limits are written in the ``limits`` notation ("2/minute"); a refusal is 429 with Retry-After
(RFC 6585 section 4).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from flask_otcauth import OTCAuth, require_auth

from ..conftest import base_config
from ..helpers import API_KEY, OTHER_API_KEY, assert_refused, key_record
from .conftest import Clock, PolicyApp, get

OTHER = {"OTC-API-Key": OTHER_API_KEY}


def two_callers(policy_app: PolicyApp, limit: str, **overrides: object) -> object:
    """ci-bot with ``limit`` in its policy, and other-bot without a policy."""
    records = [key_record(API_KEY, policy={"ratelimit": limit}),
               {**key_record(OTHER_API_KEY), "id": "other-bot"}]
    return policy_app(records=records, **overrides)


@pytest.mark.parametrize("storage", ["memory://", "redis"])
def test_a_policys_limit_replaces_the_apps_for_that_caller(
        policy_app: PolicyApp, storage: str, request: pytest.FixtureRequest) -> None:
    """ci-bot gets 2 a minute, other-bot the app's 4, counted in the same storage (Redis:
    the admit script's keys for the policy's windows)."""
    uri = request.getfixturevalue("redis_url") if storage == "redis" else storage
    app = two_callers(policy_app, "2/minute", OTC_AUTH_RATELIMIT="4/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=uri)
    for _ in range(2):
        assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited", retry_after=(1, 60), hint="2 per 1 minute")
    for _ in range(4):
        assert get(app, headers=OTHER).status_code == 200
    assert_refused(get(app, headers=OTHER), 429, "rate_limited", hint="4 per 1 minute")


def test_a_policys_limit_may_be_higher_than_the_apps(policy_app: PolicyApp) -> None:
    """Replaces, not adds to: the caller gets its policy's 5 where the app allows 2."""
    app = two_callers(policy_app, "5/minute", OTC_AUTH_RATELIMIT="2/minute")
    for _ in range(5):
        assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited")


def test_a_policys_limit_counts_while_the_apps_limits_are_off(policy_app: PolicyApp) -> None:
    """OTC_AUTH_RATELIMIT and OTC_AUTH_FAILURE_RATELIMIT None: the policy's own still holds."""
    app = two_callers(policy_app, "1/minute")
    assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited")
    for _ in range(3):
        assert get(app, headers=OTHER).status_code == 200


def test_ratelimit_enabled_false_turns_a_policys_limit_off_too(policy_app: PolicyApp) -> None:
    """Flask-Limiter's RATELIMIT_ENABLED = False is the switch for every limit."""
    app = two_callers(policy_app, "1/minute", RATELIMIT_ENABLED=False)
    for _ in range(3):
        assert get(app).status_code == 200


def test_the_guides_three_windows_are_each_enforced(policy_app: PolicyApp, clock: Clock) -> None:
    """"3/minute;4/hour": the minute window refuses first, then the hour's over minutes."""
    clock.at("2026-12-01 10:00:05")
    app = two_callers(policy_app, "3/minute;4/hour;10/day")
    for _ in range(3):
        assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited", hint="3 per 1 minute")
    clock.at("2026-12-01 10:01:05")
    assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited", hint="4 per 1 hour")


def test_refusals_by_endpoint_spend_the_callers_own_budget(policy_app: PolicyApp) -> None:
    """A refusal of a verified caller by its policy is charged to its own budget (its
    policy's), so refused requests cannot flood either."""
    records = [key_record(API_KEY, policy={"ratelimit": "2/minute",
                                           "allowed_endpoints": ["list_tools"]})]
    app = policy_app(records=records)
    for _ in range(2):
        assert_refused(get(app, "/items/1"), 403, "endpoint_not_allowed")
    assert_refused(get(app, "/items/1"), 429, "rate_limited")
    assert_refused(get(app, "/tools"), 429, "rate_limited")


def test_a_policys_limit_counts_in_a_given_limiters_storage_while_the_apps_are_off() -> None:
    """OTCAuth(limiter=...) with both app limits None: the policy's limit is counted with the
    given Flask-Limiter's strategy (set up by the app for limits of its own), and emptying its
    storage gives the budget back."""
    limiter = Limiter(get_remote_address, storage_uri="memory://")
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=[
        key_record(API_KEY, policy={"ratelimit": "1/minute"})]))
    limiter.init_app(app)
    OTCAuth(app, limiter=limiter)
    app.add_url_rule("/tools", "list_tools", require_auth(lambda: {"ok": True}))
    assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited")
    limiter.reset()
    assert get(app).status_code == 200


def test_a_policys_limit_counts_beside_a_limiter_the_app_never_set_up() -> None:
    """A given Limiter the app did not set up is left alone (no request hooks installed): the
    policy's limit is counted on its storage URI by the extension itself."""
    limiter = Limiter(get_remote_address, storage_uri="memory://")
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=[
        key_record(API_KEY, policy={"ratelimit": "1/minute"})]))
    OTCAuth(app, limiter=limiter)
    app.add_url_rule("/tools", "list_tools", require_auth(lambda: {"ok": True}))
    assert not limiter.initialized
    assert get(app).status_code == 200
    assert_refused(get(app), 429, "rate_limited")
