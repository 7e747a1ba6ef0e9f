"""A policy's days and hours through HTTP, on a controlled clock: the first and last allowed
minute in a zone with summer time, on the days the clocks change, and weekdays in the zone.

Zones are the IANA time zone database's (RFC 6557), read through :mod:`zoneinfo`; Europe/Berlin
changes from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29 and back at 01:00 UTC on 2026-10-25.
"""

from __future__ import annotations

import pytest

from ..helpers import assert_refused
from .conftest import Clock, PolicyApp, get

OFFICE = {"allowed_hours": "09:00-17:30", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(("utc", "status"), [
    ("2026-03-28 07:59", 403), ("2026-03-28 08:00", 200),  # Saturday, UTC+1
    ("2026-03-28 16:29", 200), ("2026-03-28 16:30", 403),
    ("2026-03-29 06:59", 403), ("2026-03-29 07:00", 200),  # Sunday, UTC+2 from 01:00 UTC
    ("2026-03-29 15:29", 200), ("2026-03-29 15:30", 403),
])
def test_office_hours_follow_berlin_wall_time_across_the_spring_change(
        policy_app: PolicyApp, clock: Clock, utc: str, status: int) -> None:
    """09:00 is the first allowed minute and 17:29 the last, in Berlin time, on either side of
    the change to summer time: 08:00 UTC the day before, 07:00 UTC the day of."""
    clock.at(utc)
    response = get(policy_app(OFFICE))
    assert response.status_code == status
    if status == 403:
        assert_refused(response, 403, "outside_allowed_hours", challenges=[],
                       hint="Europe/Berlin")


@pytest.mark.parametrize(("utc", "status"), [
    ("2026-10-24 06:59", 403), ("2026-10-24 07:00", 200),  # Saturday, UTC+2
    ("2026-10-24 15:29", 200), ("2026-10-24 15:30", 403),
    ("2026-10-25 07:59", 403), ("2026-10-25 08:00", 200),  # Sunday, UTC+1 from 01:00 UTC
    ("2026-10-25 16:29", 200), ("2026-10-25 16:30", 403),
])
def test_office_hours_follow_berlin_wall_time_across_the_autumn_change(
        policy_app: PolicyApp, clock: Clock, utc: str, status: int) -> None:
    """Back to UTC+1: 09:00 Berlin time is 07:00 UTC the day before and 08:00 UTC the day of;
    17:29 the last allowed minute on both."""
    clock.at(utc)
    assert get(policy_app(OFFICE)).status_code == status


@pytest.mark.parametrize(("utc", "status"), [
    ("2026-03-29 00:29", 403),  # 01:29 winter time
    ("2026-03-29 00:30", 200),  # 01:30 winter time: the first allowed minute
    ("2026-03-29 00:59", 200),  # 01:59, then the clocks jump to 03:00
    ("2026-03-29 01:00", 200),  # 03:00 summer time
    ("2026-03-29 01:29", 200),  # 03:29 summer time: the last allowed minute
    ("2026-03-29 01:30", 403),  # 03:30
])
def test_a_window_over_the_skipped_hour_lasts_an_hour_less(
        policy_app: PolicyApp, clock: Clock, utc: str, status: int) -> None:
    """01:30-03:30 Berlin time on the night 02:00-03:00 does not exist: one hour of real time."""
    clock.at(utc)
    app = policy_app({"allowed_hours": "01:30-03:30", "timezone": "Europe/Berlin"})
    assert get(app).status_code == status


@pytest.mark.parametrize(("utc", "status"), [
    ("2026-12-01 21:59", 403), ("2026-12-01 22:00", 200),
    ("2026-12-02 05:59", 200), ("2026-12-02 06:00", 403),
])
def test_a_range_that_ends_before_it_starts_runs_past_midnight(
        policy_app: PolicyApp, clock: Clock, utc: str, status: int) -> None:
    """22:00-06:00 (UTC, the default zone) is the night shift, from 22:00 to 05:59."""
    clock.at(utc)
    assert get(policy_app({"allowed_hours": "22:00-06:00"})).status_code == status


@pytest.mark.parametrize(("utc", "status"), [
    ("2026-12-01 11:59", 200), ("2026-12-01 12:00", 403), ("2026-12-01 12:59", 403),
    ("2026-12-01 13:00", 200), ("2026-12-01 13:59", 200), ("2026-12-01 14:00", 403),
])
def test_several_ranges_allow_any_of_them(policy_app: PolicyApp, clock: Clock, utc: str,
                                          status: int) -> None:
    """A list of ranges: the lunch hour between them is refused."""
    clock.at(utc)
    app = policy_app({"allowed_hours": ["09:00-12:00", "13:00-14:00"]})
    assert get(app).status_code == status


@pytest.mark.parametrize(("utc", "status"), [
    ("2026-12-04 14:59", 200),  # Friday 23:59 in Tokyo (UTC+9)
    ("2026-12-04 15:00", 403),  # Saturday 00:00 in Tokyo, still Friday in UTC
    ("2026-12-06 14:59", 403),  # Sunday 23:59 in Tokyo
    ("2026-12-06 15:00", 200),  # Monday 00:00 in Tokyo
])
def test_weekdays_are_the_days_of_the_policys_zone(policy_app: PolicyApp, clock: Clock,
                                                   utc: str, status: int) -> None:
    """mon-fri in Asia/Tokyo: the week ends at midnight Tokyo time, not UTC."""
    clock.at(utc)
    app = policy_app({"allowed_weekdays": "mon-fri", "timezone": "Asia/Tokyo"})
    response = get(app)
    assert response.status_code == status
    if status == 403:
        assert_refused(response, 403, "outside_allowed_hours")


@pytest.mark.parametrize(("local", "status"), [
    ("2026-12-04 23:59", 200), ("2026-12-05 00:00", 200), ("2026-12-07 23:59", 200),
    ("2026-12-08 00:00", 403),
])
def test_a_weekday_range_may_wrap_over_the_weekend(policy_app: PolicyApp, clock: Clock,
                                                   local: str, status: int) -> None:
    """fri-mon: Friday to Monday included, Tuesday refused."""
    clock.at(local, "Europe/Berlin")
    app = policy_app({"allowed_weekdays": ["fri-mon"], "timezone": "Europe/Berlin"})
    assert get(app).status_code == status


def test_refusals_by_time_do_not_count_toward_the_failure_limit(
        policy_app: PolicyApp, clock: Clock) -> None:
    """A refusal by time is the holder's, told why: never a lock-out of its address."""
    clock.at("2026-12-01 20:00")
    app = policy_app(OFFICE, OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    for _ in range(4):
        assert_refused(get(app), 403, "outside_allowed_hours")
