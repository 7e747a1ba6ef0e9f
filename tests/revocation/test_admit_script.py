"""Revocation folded into the rate limits' admit script on the real local Redis: one EVALSHA
reads the caller's revocation entries, checks the lock-out and counts, so an accepted request
with revocation on still costs one round trip; every refusal is the one the separate check
gave, and a Redis that does not answer still refuses (503) unless told to allow."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from flask import Flask

from flask_otcauth import OTCAuth

from ..conftest import build_app
from ..helpers import (
    API_KEY,
    AUDIENCE,
    api_key,
    assert_refused,
    bearer,
    key_record,
    make_token,
    with_admin_view,
)

pytestmark = pytest.mark.redis


def script_app(redis_url: str, **overrides: Any) -> tuple[Flask, OTCAuth]:
    """Both limits and the revocation entries in the same Redis database; a view that asks
    for a scope the test credentials lack."""
    app = with_admin_view(build_app(**{"OTC_AUTH_RATELIMIT": "100/minute",
                       "OTC_AUTH_FAILURE_RATELIMIT": "2/minute",
                       "OTC_AUTH_RATELIMIT_STORAGE_URI": redis_url,
                       "OTC_AUTH_STORAGE_URI": redis_url, "OTC_AUTH_REVOCATION": True,
                       "OTC_AUTH_API_KEYS": [key_record()], **overrides}))
    return app, app.extensions["otcauth"]


def token(**claims: Any) -> dict[str, str]:
    return bearer(make_token(aud=AUDIENCE, sub="agent", **claims))


def warmed(app: Flask, headers: dict[str, str]) -> None:
    """One request first: the connection made and the script loaded, for any test to count
    what the next requests send."""
    assert app.test_client().get("/tools", headers=headers).status_code == 200


def test_an_accepted_request_with_revocation_costs_one_redis_round_trip(
        redis_url: str, redis_commands: Counter[str]) -> None:
    app, auth = script_app(redis_url)
    assert app.extensions["otcauth"].states[id(app)].gate.folds_revocation
    with app.app_context():
        auth.revoke_before("subject", "someone-else")  # entries exist, none of this caller
    headers = token(jti="fold-1", iat=int(time.time()))
    warmed(app, headers)
    redis_commands.clear()
    client = app.test_client()
    assert [client.get("/tools", headers=headers).status_code for _ in range(5)] == [200] * 5
    assert redis_commands == Counter({"EVALSHA": 5})


def test_a_revoked_jti_is_refused_by_the_script_and_counts_as_a_failed_attempt(
        redis_url: str, redis_commands: Counter[str]) -> None:
    """The script answers the revocation (nothing counted as a request); the failure is then
    recorded, so the address is locked out after OTC_AUTH_FAILURE_RATELIMIT of them."""
    app, auth = script_app(redis_url)
    headers = token(jti="fold-2")
    warmed(app, headers)
    with app.app_context():
        auth.revoke_token("fold-2")
    redis_commands.clear()
    client = app.test_client()
    assert_refused(client.get("/tools", headers=headers), 401, "credential_revoked")
    assert redis_commands == Counter({"EVALSHA": 2})  # the admit, then the failure
    assert_refused(client.get("/tools", headers=headers), 401, "credential_revoked")
    assert_refused(client.get("/tools", headers=headers), 429, "too_many_failed_attempts")


def test_a_cut_off_read_by_the_script_refuses_older_tokens_and_admits_newer_ones(
        redis_url: str) -> None:
    """RFC 7519 section 4.1.6: ``iat`` before the cut-off, compared in Lua."""
    app, auth = script_app(redis_url)
    cut = int(time.time())
    with app.app_context():
        auth.revoke_before("subject", "agent", cut)
    client = app.test_client()
    assert_refused(client.get("/tools", headers=token(iat=cut - 1)), 401, "credential_revoked")
    assert client.get("/tools", headers=token(iat=cut)).status_code == 200
    assert client.get("/tools", headers=token(iat=cut + 1)).status_code == 200


def test_a_disabled_key_is_refused_by_the_script(redis_url: str) -> None:
    app, auth = script_app(redis_url)
    warmed(app, api_key(API_KEY))
    with app.app_context():
        auth.revoke_key("api_key", "ci-bot")
    assert_refused(app.test_client().get("/tools", headers=api_key(API_KEY)), 401,
                   "credential_revoked")


def test_a_revoked_token_without_the_scope_is_refused_as_revoked_not_forbidden(
        redis_url: str) -> None:
    """A refusal before the script runs (a missing scope, a policy) reads the entries first:
    a revoked credential never learns that it lacks a scope."""
    app, auth = script_app(redis_url)
    with app.app_context():
        auth.revoke_token("fold-3")
    response = app.test_client().get("/admin", headers=token(jti="fold-3"))
    assert_refused(response, 401, "credential_revoked")
    assert_refused(app.test_client().get("/admin", headers=token(jti="fold-4")), 403,
                   "insufficient_scope")


def test_the_script_is_not_used_for_another_database_and_the_check_still_holds(
        redis_url: str, redis_commands: Counter[str]) -> None:
    """The entries on a URI naming another host (localhost, not 127.0.0.1): not provably the
    same database, so they are read on their own (MGET), then counted (EVALSHA)."""
    other = redis_url.replace("127.0.0.1", "localhost")
    app, auth = script_app(redis_url, OTC_AUTH_STORAGE_URI=other)
    assert not app.extensions["otcauth"].states[id(app)].gate.folds_revocation
    headers = token(jti="apart-1")
    warmed(app, headers)
    redis_commands.clear()
    assert app.test_client().get("/tools", headers=headers).status_code == 200
    assert redis_commands == Counter({"MGET": 1, "EVALSHA": 1})
    with app.app_context():
        auth.revoke_token("apart-1")
    assert_refused(app.test_client().get("/tools", headers=headers), 401, "credential_revoked")


@pytest.mark.parametrize(("fallback", "status"), [("refuse", 503), ("allow", 200)])
def test_a_redis_that_does_not_answer_the_script_refuses_with_503_unless_told_to_allow(
        fallback: str, status: int) -> None:
    """The script did not run: the entries are asked for on their own, and the revocation
    fallback decides (the limits count in the process meanwhile)."""
    down = "redis://127.0.0.1:1/0"
    app, _ = script_app(down, OTC_AUTH_REVOCATION_FALLBACK=fallback)
    assert app.extensions["otcauth"].states[id(app)].gate.folds_revocation
    response = app.test_client().get("/tools", headers=token(jti="down-1"))
    if status == 503:
        assert_refused(response, 503, "temporarily_unavailable")
        assert response.headers["Retry-After"] == "5"
    else:
        assert response.status_code == 200
