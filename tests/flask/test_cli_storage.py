"""``flask otcauth check`` connects to each Redis: latency, a URI that does not answer, and
what the limits allow while their storage is down. (Eviction policies and persistence are
checked against Redis servers of the fault tests' own, tests/flask/test_storage_faults.py:
the shared test Redis's configuration is not ours to change.)"""

from __future__ import annotations

import re

import pytest
from click.testing import Result
from flask import Flask

from ..conftest import build_app
from ..helpers import HMAC_SECRET

DEAD_REDIS = "redis://127.0.0.1:1/0"
PASSWORD = "pw-in-the-uri-" + "Lk9Mn" * 4


def check(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["otcauth", "check", *args])


@pytest.mark.redis
def test_check_reports_how_fast_redis_answers(redis_url: str) -> None:
    result = check(build_app(OTC_AUTH_RATELIMIT="100/minute",
                             OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url))

    assert result.exit_code == 0, result.output
    latency = re.search(rf"storage {re.escape(redis_url)}: answers in ([0-9.]+) ms \(Redis "
                        r"[0-9.]+, OTC_AUTH_STORAGE_TIMEOUT 250 ms\)", result.output)
    assert latency is not None, result.output
    assert float(latency.group(1)) < 250


def test_check_reports_a_storage_that_does_not_answer() -> None:
    result = check(build_app(OTC_AUTH_METHODS=["hmac"],
                             OTC_AUTH_HMAC_CLIENTS={"platform": HMAC_SECRET},
                             OTC_AUTH_STORAGE_URI=f"redis://:{PASSWORD}@127.0.0.1:1/0"))

    assert result.exit_code == 0, result.output
    assert ("warning: storage redis://:***@127.0.0.1:1/0 did not answer within 1 s "
            "(ConnectionError): while it does not, signed requests get 503") in result.output
    assert PASSWORD not in result.output


def test_check_strict_fails_when_the_storage_does_not_answer() -> None:
    app = build_app(OTC_AUTH_RATELIMIT="10/minute", OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS)

    assert check(app, "--strict").exit_code == 1


def test_check_says_what_the_limits_allow_during_an_outage() -> None:
    app = build_app(OTC_AUTH_RATELIMIT="30/minute", OTC_AUTH_FAILURE_RATELIMIT="5/minute",
                    OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS)

    output = check(app, "--workers", "4").output

    assert ("rate limits while their storage does not answer: each of the 4 worker(s) counts "
            "alone, so up to 30 per 1 minute x 4 = 120 ; 5 per 1 minute x 4 = 20") in output


def test_check_says_the_limits_refuse_during_an_outage_when_set_to() -> None:
    app = build_app(OTC_AUTH_RATELIMIT="30/minute", OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS,
                    OTC_AUTH_RATELIMIT_FALLBACK="refuse")

    output = check(app, "--workers", "4").output

    assert ("rate limits while their storage does not answer: 503 temporarily_unavailable "
            "(OTC_AUTH_RATELIMIT_FALLBACK = refuse)") in output
    assert "the rate limits refuse with 503" in output


def test_check_connects_to_nothing_for_memory_storage() -> None:
    output = check(build_app(OTC_AUTH_RATELIMIT="30/minute")).output

    assert "answers in" not in output
    assert "does not answer" not in output
