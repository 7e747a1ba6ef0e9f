"""Revocation on a real server: gunicorn with two workers on 127.0.0.1, the entries in the real
local Redis, written by ``flask otcauth revoke`` in a process of its own.

Each request goes on a new connection, so the two workers share them; every answer names its
worker (``X-Worker-Pid``) and a test sends until both have answered. Tokens come from an
ES256 issuer on 127.0.0.1 (the pytest plugin's ``LocalIssuer``), ``tenant`` as the issuer's
``tenant_claim``; keys from an ``api_key_loader`` whose answers are cached for an hour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Final

import httpx
import pytest

from flask_otcauth.testing import LocalIssuer

from ..conftest import RUN_SETTINGS, ServerFactory
from ..helpers import API_KEY, assert_refused, key_record
from ..servers import REPO_ROOT

pytestmark = pytest.mark.e2e

SERVED_APP: Final = "tests.served_app:create_app()"
RESOURCE: Final = "https://tools.example.com/mcp"
MAX_REQUESTS: Final = 40  # new connections sent before two workers must have answered
LOADER: Final = {"OTCAUTH_TEST_LOADER_RECORDS": json.dumps([key_record(API_KEY)])}


def settings(redis_url: str, issuer: LocalIssuer) -> dict[str, Any]:
    return {
        "OTC_AUTH_METHODS": ["oauth", "api_key"],
        "OTC_AUTH_OAUTH_RESOURCE": RESOURCE,
        "OTC_AUTH_OAUTH_ISSUERS": [issuer.config(tenant_claim="tenant")],
        "OTC_AUTH_REVOCATION": True,
        "OTC_AUTH_STORAGE_URI": redis_url,
        "OTC_AUTH_API_KEY_CACHE_TTL": 3600,
        "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain HTTP on 127.0.0.1
    }


def revoke(config: dict[str, Any], *arguments: str) -> str:
    """``flask otcauth revoke ...`` in a process of its own, on the served app with the
    server's settings; its output."""
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("OTC_AUTH_", "RATELIMIT_", "FLASK_"))}
    environ.update({name: json.dumps(value) for name, value in {**RUN_SETTINGS,
                                                                 **config}.items()})
    environ.update(LOADER, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "flask", "--app", SERVED_APP, "otcauth", "revoke", *arguments],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def on_both_workers(base: str, headers: dict[str, str]) -> list[httpx.Response]:
    """Requests on new connections until both workers answered; every answer."""
    answers: list[httpx.Response] = []
    while len({answer.headers["X-Worker-Pid"] for answer in answers}) < 2:
        assert len(answers) < MAX_REQUESTS, "one worker answered every request"
        answers.append(httpx.get(f"{base}/tools/echo", headers={**headers,
                                                                 "Connection": "close"}))
    return answers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_all(answers: list[httpx.Response], status: int) -> None:
    assert [answer.status_code for answer in answers] == [status] * len(answers)
    if status == 401:
        for answer in answers:
            assert_refused(answer, 401, "credential_revoked")


def test_a_token_revoked_by_the_cli_is_refused_by_every_worker_on_its_next_request(
        gunicorn: ServerFactory, redis_url: str, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 7519 section 4.1.7: the entry is the issuer's ``jti``; once the CLI wrote it, no
    worker accepts the token again, and another token of the same caller stays accepted."""
    config = settings(redis_url, otc_oauth_issuer)
    base = gunicorn(config, env=LOADER)
    token = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", jti="leaked-1")
    other = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", jti="kept-1")
    assert_all(on_both_workers(base, bearer(token)), 200)
    exp = str(int(time.time()) + 300)
    assert "revoked" in revoke(config, "token", "leaked-1", "--issuer",
                               otc_oauth_issuer.issuer, "--exp", exp)
    assert_all(on_both_workers(base, bearer(token)), 401)
    assert_all(on_both_workers(base, bearer(other)), 200)


def test_a_tenants_cut_off_refuses_its_older_tokens_and_accepts_a_newly_minted_one(
        gunicorn: ServerFactory, redis_url: str, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 7519 section 4.1.6: ``iat`` before the cut-off is refused on every worker; a token
    minted after it, and another tenant's old token, are accepted."""
    config = settings(redis_url, otc_oauth_issuer)
    base = gunicorn(config, env=LOADER)
    cut = int(time.time())
    old = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", tenant="acme",
                                      now=cut - 60)
    neighbour = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", tenant="globex",
                                            now=cut - 60)
    assert_all(on_both_workers(base, bearer(old)), 200)
    assert "refused" in revoke(config, "before", "tenant", "acme", "--at", str(cut))
    assert_all(on_both_workers(base, bearer(old)), 401)
    assert_all(on_both_workers(base, bearer(neighbour)), 200)
    new = otc_oauth_issuer.make_token(audience=RESOURCE, alg="ES256", tenant="acme")
    assert_all(on_both_workers(base, bearer(new)), 200)


def test_a_disabled_key_stops_on_every_worker_at_once_with_an_hour_of_loader_cache(
        gunicorn: ServerFactory, redis_url: str, otc_oauth_issuer: LocalIssuer) -> None:
    """OTC_AUTH_API_KEY_CACHE_TTL = 3600: both workers hold the record in their cache (the
    loader was asked once each), yet the key is refused from the next request on."""
    config = settings(redis_url, otc_oauth_issuer)
    base = gunicorn(config, env=LOADER)
    key = {"OTC-API-Key": API_KEY}
    assert_all(on_both_workers(base, key), 200)
    cached = on_both_workers(base, key)
    assert_all(cached, 200)
    assert {answer.headers["X-Loader-Calls"] for answer in cached} == {"1"}
    assert "disabled" in revoke(config, "key", "api_key", "ci-bot")
    refused = on_both_workers(base, key)
    assert_all(refused, 401)
    assert {answer.headers["X-Loader-Calls"] for answer in refused} == {"1"}
