"""A token's time claims against the server's clock, and the warning when clocks disagree; no
Flask. RFC 7519 section 4.1.4: the current time must be before ``exp``; sections 4.1.5 and
4.1.6: ``nbf`` and ``iat``, which we let be a stated clock skew ahead."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flask_otcauth.core.clock import EXPIRED, SkewWatch, TimeRules, offset

from ..helpers import FakeClock

NOW = 1_800_000_000.0
RULES = TimeRules(max_lifetime=900, leeway=0, skew=60)


def judged(rules: TimeRules = RULES, **claims: Any) -> tuple[str, float] | None:
    return rules.problem({"exp": NOW + 300, **claims}, NOW)


def test_iat_and_nbf_up_to_the_skew_ahead_are_accepted() -> None:
    assert judged(iat=NOW + 60, exp=NOW + 960, nbf=NOW + 60) is None


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_claim_one_second_beyond_the_skew_is_refused_with_its_skew(claim: str) -> None:
    problem = judged(**{claim: NOW + 61})
    assert problem is not None
    assert problem[0].startswith(f"The token's {claim} is 61 s ahead of this server's clock")
    assert problem[1] == 61


def test_the_skew_is_judged_in_whole_seconds_as_pyjwt_does() -> None:
    assert judged(iat=NOW + 60.9) is None  # int(iat) is 60 s ahead
    assert judged(rules=TimeRules(max_lifetime=900, skew=60), iat=NOW + 61.0) is not None


def test_exp_stays_strict_whatever_the_skew() -> None:
    assert judged(exp=NOW) == (EXPIRED, 0.0)
    assert judged(exp=NOW + 1) is None


@pytest.mark.parametrize("leeway", [1, 30])
def test_exp_is_refused_from_the_second_after_exp_plus_the_leeway(leeway: int) -> None:
    rules = TimeRules(max_lifetime=900, leeway=leeway, skew=60)
    assert judged(rules, exp=NOW - leeway) == (EXPIRED, -leeway)
    assert judged(rules, exp=NOW - leeway + 1) is None


def test_the_lifetime_is_measured_from_iat_when_the_token_has_one() -> None:
    assert judged(iat=NOW - 500, exp=NOW + 400) is None  # lived 500 s of its 900
    problem = judged(iat=NOW - 500, exp=NOW + 401)
    assert problem is not None
    assert "(exp - iat) is 901 s" in problem[0]


def test_without_iat_exp_may_be_the_lifetime_plus_the_skew_ahead() -> None:
    assert judged(exp=NOW + 960) is None
    problem = judged(exp=NOW + 961)
    assert problem is not None
    assert problem == (problem[0], 961)
    assert "more than 900 s ahead (plus 60 s of clock skew)" in problem[0]


def test_a_skew_of_zero_refuses_any_iat_ahead() -> None:
    rules = TimeRules(max_lifetime=900, leeway=0, skew=0)
    assert judged(rules, iat=NOW) is None
    assert judged(rules, iat=NOW + 1) is not None


@pytest.mark.parametrize("claim", ["iat", "nbf", "exp"])
def test_a_numeric_date_past_any_float_is_judged_not_overflowed(claim: str) -> None:
    assert judged(**{claim: 10**400}) is not None
    assert offset(10**400, NOW) > 10**14
    assert offset(-(10**400), NOW) < -(10**14)


# The warning -------------------------------------------------------------------------------


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING and record.name == "flask_otcauth"]


def test_a_client_s_tokens_ahead_beyond_the_threshold_warn_once_per_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    watch = SkewWatch(threshold=5, window=600, clock=clock)
    for _ in range(3):
        watch.observe("platform", 12.4)
    clock.now += 599
    watch.observe("platform", 12.4)
    assert warnings(caplog) == [
        "client platform's tokens arrive 12 s ahead of this server's clock (at most "
        "OTC_AUTH_JWT_CLOCK_SKEW is accepted): check both clocks (NTP)"]
    clock.now += 2
    watch.observe("platform", 30)
    assert len(warnings(caplog)) == 2


def test_each_client_gets_its_own_warning(caplog: pytest.LogCaptureFixture) -> None:
    watch = SkewWatch(threshold=5, clock=FakeClock())
    watch.observe("platform-a", 8)
    watch.observe("platform-b", 8)
    watch.observe(None, 8)
    assert [message.split("'s tokens")[0] for message in warnings(caplog)] == [
        "client platform-a", "client platform-b", "client (a client without sub or aud)"]


def test_tokens_within_the_threshold_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    watch = SkewWatch(threshold=5, clock=FakeClock())
    watch.observe("platform", 4.9)
    assert warnings(caplog) == []
    assert len(watch) == 0


def test_the_memory_of_clients_is_bounded() -> None:
    watch = SkewWatch(threshold=5, max_clients=3, clock=FakeClock())
    for number in range(10):
        watch.observe(f"client-{number}", 10)
    assert len(watch) == 3


def test_a_client_name_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    SkewWatch(threshold=5, clock=FakeClock()).observe("a\nclient b" + "x" * 500, 10)
    [message] = warnings(caplog)
    assert "\n" not in message
    assert len(message) < 300
