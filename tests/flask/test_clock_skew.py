"""Clock skew through HTTP: how far a token's times may be from the server's clock, what a
refusal by time costs its sender, and what the operator sees of it.

RFC 7519 sections 4.1.4-4.1.6 (exp, nbf, iat); the clock the verifier reads (``time.time``) is
frozen at a whole second, so a boundary one second away is exactly one second away.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from ..conftest import AppFactory
from ..forge import forge
from ..helpers import AUDIENCE, assert_refused, bearer


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> int:
    frozen = int(time.time())
    monkeypatch.setattr(time, "time", lambda: float(frozen))
    return frozen


def token(**claims: Any) -> dict[str, str]:
    return bearer(forge(claims={"sub": "platform", "aud": AUDIENCE, **claims}))


def get(app: Flask, headers: dict[str, str]) -> TestResponse:
    return app.test_client().get("/tools", headers=headers)


def test_exp_is_refused_from_the_second_after_exp_plus_the_leeway(
    make_app: AppFactory, now: int
) -> None:
    app = make_app(OTC_AUTH_JWT_LEEWAY=30)
    assert_refused(get(app, token(exp=now - 30)), 401, "invalid_token", hint="expired")
    assert get(app, token(exp=now - 29)).status_code == 200


def test_the_clock_skew_does_not_reach_exp(make_app: AppFactory, now: int) -> None:
    app = make_app(OTC_AUTH_JWT_CLOCK_SKEW=300)
    assert_refused(get(app, token(exp=now)), 401, "invalid_token", hint="expired")


def test_the_clock_skew_is_a_setting(make_app: AppFactory, now: int) -> None:
    app = make_app(OTC_AUTH_JWT_CLOCK_SKEW=5)
    assert get(app, token(iat=now + 5, exp=now + 905)).status_code == 200
    assert_refused(get(app, token(iat=now + 6, exp=now + 906)), 401, "invalid_token",
                   hint="at most 5 s of clock skew is allowed (OTC_AUTH_JWT_CLOCK_SKEW)")


def test_a_clock_skew_over_300_s_is_refused_at_start_up(make_app: AppFactory) -> None:
    with pytest.raises(ValueError, match="OTC_AUTH_JWT_CLOCK_SKEW is 301 s"):
        make_app(OTC_AUTH_JWT_CLOCK_SKEW=301)


def test_a_platform_with_a_broken_clock_is_told_why_and_never_locked_out(
    make_app: AppFactory, now: int
) -> None:
    """30 expired tokens, then a valid one, from one address with a limit of 20 failures."""
    app = make_app(OTC_AUTH_FAILURE_RATELIMIT="20/minute", OTC_AUTH_RATELIMIT="120/minute")
    for late in range(30):
        assert_refused(get(app, token(exp=now - 5 - late)), 401, "invalid_token",
                       hint="The token has expired")
    assert get(app, token(exp=now + 300)).status_code == 200


def test_refusals_of_verified_tokens_spend_the_caller_s_budget(
    make_app: AppFactory, now: int
) -> None:
    app = make_app(OTC_AUTH_FAILURE_RATELIMIT="20/minute", OTC_AUTH_RATELIMIT="5/minute")
    for late in range(5):
        assert get(app, token(exp=now - 5 - late)).status_code == 401
    assert_refused(get(app, token(exp=now + 300)), 429, "rate_limited")
    assert get(app, token(exp=now + 300, sub="another")).status_code == 200


def test_forged_tokens_still_lock_the_address_out(make_app: AppFactory, now: int) -> None:
    app = make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    forged = bearer(forge(claims={"sub": "platform", "exp": now - 5}, key="z" * 40))
    assert [get(app, forged).status_code for _ in range(3)] == [401, 401, 429]


def audit(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if hasattr(record, "otcauth")]


@pytest.mark.parametrize(("claims", "skew"), [
    ({"iat": 61, "exp": 961}, 61.0),
    ({"nbf": 75}, 75.0),
    ({"exp": -42}, -42.0),
])
def test_the_audit_event_of_a_time_refusal_carries_the_measured_skew(
    make_app: AppFactory, now: int, caplog: pytest.LogCaptureFixture,
    claims: dict[str, int], skew: float,
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    get(make_app(), token(**{"exp": now + 300,
                             **{name: now + value for name, value in claims.items()}}))
    [record] = audit(caplog)
    assert (record.otcauth["reason"], record.otcauth["skew"]) == ("invalid_token", skew)
    assert record.otcauth["caller"] == "jwt:platform"
    assert f"skew={skew:+.1f}s" in record.getMessage()


def test_a_refusal_of_an_unverified_token_names_no_caller(
    make_app: AppFactory, now: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    get(make_app(), bearer(forge(claims={"sub": "platform", "exp": now - 5}, key="z" * 40)))
    [record] = audit(caplog)
    assert (record.otcauth["caller"], record.otcauth["skew"]) == (None, None)


def skew_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING and "ahead of this server's clock"
            in record.getMessage()]


def test_a_client_whose_tokens_arrive_ahead_gets_one_warning(
    make_app: AppFactory, now: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    for second in range(5):
        assert get(app, token(iat=now + 30, exp=now + 930, jti=str(second))).status_code == 200
    assert skew_warnings(caplog) == [
        f"client {AUDIENCE}'s tokens arrive 30 s ahead of this server's clock (at most "
        "OTC_AUTH_JWT_CLOCK_SKEW is accepted): check both clocks (NTP)"]


def test_tokens_refused_for_being_too_far_ahead_warn_too(
    make_app: AppFactory, now: int, caplog: pytest.LogCaptureFixture
) -> None:
    get(make_app(), token(iat=now + 90, exp=now + 990))
    assert [message.split(" (")[0] for message in skew_warnings(caplog)] == [
        f"client {AUDIENCE}'s tokens arrive 90 s ahead of this server's clock"]


def test_tokens_a_second_ahead_do_not_warn(
    make_app: AppFactory, now: int, caplog: pytest.LogCaptureFixture
) -> None:
    get(make_app(), token(iat=now + 1, exp=now + 901))
    assert skew_warnings(caplog) == []
