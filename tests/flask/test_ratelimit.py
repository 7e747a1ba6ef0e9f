"""Rate limits through HTTP: per identity, per failing address, shared storage, storage outage."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from flask_otcauth import OTCAuth, require_auth

from ..conftest import AppFactory, ServerFactory, base_config
from ..helpers import (
    API_KEY,
    AUDIENCE,
    OTHER_API_KEY,
    api_key,
    assert_refused,
    bearer,
    make_token,
)

OTHER_ADDRESS = {"REMOTE_ADDR": "10.0.0.2"}
DEAD_REDIS = "redis://127.0.0.1:1/0"
BAD_KEY = "not-a-configured-key-" + "Yu7Op" * 7


def statuses(client: FlaskClient, count: int, path: str = "/tools", **kwargs: Any) -> list[int]:
    return [client.get(path, **kwargs).status_code for _ in range(count)]


def token_for(sub: str, **claims: Any) -> dict[str, str]:
    return bearer(make_token(sub=sub, aud=AUDIENCE, **claims))


# A 429 of ours says to retry within the one-minute window: an integer Retry-After in it.
WINDOW = (1, 60)


# Per identity ------------------------------------------------------------------------------


def test_identity_gets_exactly_its_budget_then_429(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()

    assert statuses(client, 3, headers=api_key()) == [200, 200, 200]
    assert_refused(client.get("/tools", headers=api_key()), 429, "rate_limited", retry_after=WINDOW)


def test_budget_is_shared_across_protected_views(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()

    assert statuses(client, 2, headers=api_key()) == [200, 200]
    assert client.get("/optional", headers=api_key()).status_code == 200
    assert_refused(client.get("/optional", headers=api_key()), 429, "rate_limited",
                   retry_after=WINDOW)


def test_tokens_minted_for_one_subject_share_one_budget(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()
    tokens = [token_for("alice", jti=f"token-{n}") for n in range(4)]
    assert len({headers["Authorization"] for headers in tokens}) == 4

    results = [client.get("/tools", headers=headers) for headers in tokens]

    assert [r.status_code for r in results] == [200, 200, 200, 429]
    assert_refused(results[3], 429, "rate_limited", retry_after=WINDOW)


def test_another_subject_has_its_own_budget(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()
    assert statuses(client, 4, headers=token_for("alice")) == [200, 200, 200, 429]

    assert statuses(client, 3, headers=token_for("bob")) == [200, 200, 200]
    assert client.get("/tools", headers=token_for("bob")).status_code == 429


def test_tokens_without_sub_are_counted_by_their_client(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()
    tokens = [bearer(make_token(aud=AUDIENCE, jti=f"token-{n}")) for n in range(4)]

    assert [client.get("/tools", headers=h).status_code for h in tokens] == [200, 200, 200, 429]


def test_two_api_keys_are_two_identities(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute",
                      OTC_AUTH_API_KEYS=[API_KEY, OTHER_API_KEY]).test_client()

    assert statuses(client, 4, headers=api_key(API_KEY)) == [200, 200, 200, 429]
    assert statuses(client, 3, headers=api_key(OTHER_API_KEY)) == [200, 200, 200]


def test_identity_budget_does_not_depend_on_the_client_address(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()
    assert statuses(client, 3, headers=api_key()) == [200, 200, 200]

    response = client.get("/tools", headers=api_key(), environ_overrides=OTHER_ADDRESS)

    assert_refused(response, 429, "rate_limited", retry_after=WINDOW)


def test_anonymous_callers_of_an_optional_view_are_counted_by_address(
    make_app: AppFactory,
) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="3/minute").test_client()

    assert statuses(client, 4, path="/optional") == [200, 200, 200, 429]
    assert client.get("/optional", environ_overrides=OTHER_ADDRESS).status_code == 200


# Per failing address -----------------------------------------------------------------------


def test_failed_attempts_then_every_attempt_is_429(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()

    assert statuses(client, 3, headers=api_key(BAD_KEY)) == [401, 401, 401]
    assert_refused(client.get("/tools", headers=api_key(BAD_KEY)), 429, "too_many_failed_attempts",
                   retry_after=WINDOW)


def test_address_out_of_failures_is_refused_a_valid_key_too(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()
    assert statuses(client, 3, headers=api_key(BAD_KEY)) == [401, 401, 401]

    assert_refused(client.get("/tools", headers=api_key()), 429, "too_many_failed_attempts",
                   retry_after=WINDOW)


def test_rotating_invalid_keys_and_tokens_does_not_escape(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()
    attempts = [
        api_key(BAD_KEY + "1"),
        bearer("not.a.jwt"),
        api_key(BAD_KEY + "2"),
        bearer(make_token("forged-secret-" + "Mn5Bv" * 8, sub="alice")),
        api_key(BAD_KEY + "3", header="OXP-API-Key"),
    ]

    results = [client.get("/tools", headers=headers) for headers in attempts]

    assert [r.status_code for r in results] == [401, 401, 401, 429, 429]
    for response in results[3:]:
        assert_refused(response, 429, "too_many_failed_attempts", retry_after=WINDOW)


def test_missing_credentials_count_as_failed_attempts(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()

    assert statuses(client, 4) == [401, 401, 401, 429]


def test_another_address_is_not_affected_by_failures(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()
    assert statuses(client, 4, headers=api_key(BAD_KEY)) == [401, 401, 401, 429]

    other = {"environ_overrides": OTHER_ADDRESS}
    assert client.get("/tools", headers=api_key(), **other).status_code == 200
    assert client.get("/tools", headers=api_key(BAD_KEY), **other).status_code == 401


def test_successes_do_not_use_up_the_failure_budget(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()

    assert statuses(client, 10, headers=api_key()) == [200] * 10
    assert statuses(client, 3, headers=api_key(BAD_KEY)) == [401, 401, 401]


def test_rate_limited_answers_do_not_count_as_failed_attempts(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="2/minute", OTC_AUTH_FAILURE_RATELIMIT="2/minute",
                      OTC_AUTH_API_KEYS=[API_KEY, OTHER_API_KEY]).test_client()
    assert statuses(client, 5, headers=api_key(API_KEY)) == [200, 200, 429, 429, 429]

    assert client.get("/tools", headers=api_key(OTHER_API_KEY)).status_code == 200


# Switched off ------------------------------------------------------------------------------


def test_limits_set_to_none_never_answer_429(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None).test_client()

    assert statuses(client, 50, headers=api_key()) == [200] * 50
    assert statuses(client, 50, headers=api_key(BAD_KEY)) == [401] * 50


def test_ratelimit_enabled_false_turns_our_limits_off(make_app: AppFactory) -> None:
    client = make_app(RATELIMIT_ENABLED=False, OTC_AUTH_RATELIMIT="3/minute",
                      OTC_AUTH_FAILURE_RATELIMIT="3/minute").test_client()

    assert statuses(client, 10, headers=api_key()) == [200] * 10
    assert statuses(client, 10, headers=api_key(BAD_KEY)) == [401] * 10


# A Limiter of the app's own ----------------------------------------------------------------


def app_with_limiter(limiter: Limiter, **overrides: Any) -> tuple[Flask, OTCAuth]:
    app = Flask(__name__)
    app.config.update(base_config(**overrides))
    auth = OTCAuth(app, limiter=limiter)

    @app.get("/tools")
    @require_auth
    def tools() -> str:
        return "ok"

    return app, auth


def test_a_given_limiter_is_the_one_used() -> None:
    limiter = Limiter(get_remote_address, storage_uri="memory://")

    app, auth = app_with_limiter(limiter, OTC_AUTH_RATELIMIT="3/minute")

    assert auth.limiter(app) is limiter


def test_a_given_limiter_holds_the_counts() -> None:
    limiter = Limiter(get_remote_address, storage_uri="memory://")
    app, _ = app_with_limiter(limiter, OTC_AUTH_RATELIMIT="3/minute")
    client = app.test_client()
    assert statuses(client, 4, headers=api_key()) == [200, 200, 200, 429]

    limiter.reset()  # emptying the given limiter's storage gives the budget back

    assert client.get("/tools", headers=api_key()).status_code == 200


def test_a_given_limiter_with_rate_limits_disabled_turns_ours_off() -> None:
    limiter = Limiter(get_remote_address, storage_uri="memory://", enabled=False)
    app, _ = app_with_limiter(limiter, OTC_AUTH_RATELIMIT="3/minute")

    assert statuses(app.test_client(), 10, headers=api_key()) == [200] * 10


# Shared storage (Redis) --------------------------------------------------------------------


@pytest.mark.redis
def test_two_apps_on_one_redis_share_one_count(make_app: AppFactory, redis_url: str) -> None:
    first = make_app(OTC_AUTH_RATELIMIT="3/minute", OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url)
    second = make_app(OTC_AUTH_RATELIMIT="3/minute", OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url)
    assert first.extensions["otcauth"].limiter(first) is not (
        second.extensions["otcauth"].limiter(second))

    results = (statuses(first.test_client(), 2, headers=api_key())
               + statuses(second.test_client(), 2, headers=api_key()))

    assert results == [200, 200, 200, 429]


@pytest.mark.redis
def test_two_apps_on_one_redis_share_the_failure_count(
    make_app: AppFactory, redis_url: str
) -> None:
    first = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute",
                     OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url)
    second = make_app(OTC_AUTH_FAILURE_RATELIMIT="3/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=redis_url)

    results = (statuses(first.test_client(), 2, headers=api_key(BAD_KEY))
               + statuses(second.test_client(), 2, headers=api_key()))

    assert results == [401, 401, 200, 200]
    assert statuses(second.test_client(), 2, headers=api_key(BAD_KEY)) == [401, 429]


@pytest.fixture
def gunicorn_server(
    request: pytest.FixtureRequest, gunicorn: ServerFactory, redis_url: str
) -> str:
    """Two gunicorn workers, each replaced after one request, sharing counts in Redis.

    With ``--max-requests 1`` every request is served by a fresh process, so no count can
    survive in a process's memory: only the shared storage can make the limit hold.
    """
    return gunicorn({
        "OTC_AUTH_METHODS": ["api_key"],
        "OTC_AUTH_API_KEYS": [API_KEY],
        "OTC_AUTH_RATELIMIT": request.param,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
        "OTC_AUTH_RATELIMIT_STORAGE_URI": redis_url,
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain HTTP on 127.0.0.1: counting is the point here
        # Seven requests through fresh processes take seconds: a fixed window could reset
        # in the middle of them.
        "RATELIMIT_STRATEGY": "moving-window",
    }, args=("-w", "2", "--max-requests", "1"))


LIMIT = 4


@pytest.mark.redis
@pytest.mark.e2e
@pytest.mark.parametrize("gunicorn_server", [f"{LIMIT}/minute"], indirect=True)
def test_worker_processes_share_one_count_in_redis(gunicorn_server: str) -> None:
    with httpx.Client(base_url=gunicorn_server, timeout=10.0) as http:
        responses = [http.get("/tools/list", headers=api_key()) for _ in range(LIMIT + 3)]

    assert [r.status_code for r in responses] == [200] * LIMIT + [429] * 3
    assert_refused(responses[-1], 429, "rate_limited", retry_after=WINDOW)
    # Every answer came from another process: no process saw more than one request.
    assert len({r.headers["X-Worker-Pid"] for r in responses}) == LIMIT + 3


# Storage outage ----------------------------------------------------------------------------


def test_storage_outage_lets_a_valid_request_through(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="10/minute", OTC_AUTH_FAILURE_RATELIMIT="10/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS).test_client()

    response = client.get("/tools", headers=api_key())

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["method"] == "api_key"


def test_storage_outage_still_refuses_a_bad_key_with_401(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="10/minute", OTC_AUTH_FAILURE_RATELIMIT="10/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS).test_client()

    response = client.get("/tools", headers=api_key(BAD_KEY))

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_api_key"


def test_storage_outage_keeps_counting_in_the_process(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="2/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS).test_client()

    results = [client.get("/tools", headers=api_key()) for _ in range(3)]

    assert [r.status_code for r in results] == [200, 200, 429]
    assert_refused(results[2], 429, "rate_limited", retry_after=WINDOW)


def test_storage_outage_keeps_counting_failures_in_the_process(make_app: AppFactory) -> None:
    client = make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS).test_client()

    assert statuses(client, 2, headers=api_key(BAD_KEY)) == [401, 401]
    assert_refused(client.get("/tools", headers=api_key()), 429, "too_many_failed_attempts",
                   retry_after=WINDOW)


def test_storage_outage_is_logged_as_a_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(OTC_AUTH_RATELIMIT="10/minute",
                      OTC_AUTH_RATELIMIT_STORAGE_URI=DEAD_REDIS).test_client()

    with caplog.at_level(logging.WARNING, logger="flask_otcauth"):
        assert client.get("/tools", headers=api_key()).status_code == 200

    warnings = [r for r in caplog.records
                if r.name == "flask_otcauth" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "storage" in warnings[0].getMessage()
