"""Several gunicorn workers, one view of nonces and counts: Redis, and what happens without it.

``--max-requests 1`` replaces a worker after each request, so consecutive requests are served
by different processes and nothing can survive in one process's memory: only the shared
storage can make a nonce or a limit hold.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from flask_otcauth.client import HttpxAuth, sign_request

from .. import rfc9421
from ..conftest import ServerFactory
from ..helpers import API_KEY, HMAC_CLIENT, HMAC_SECRET, settle_nonce_store

pytestmark = pytest.mark.e2e

ONE_REQUEST_PER_WORKER = ("-w", "2", "--max-requests", "1")
BODY = b'{"tool": "echo"}'
OTHER_CLIENT, OTHER_SECRET = "second-caller", "second-hmac-secret-" + "Vb2Nm" * 8


def hmac_settings(storage_uri: str, **overrides: Any) -> dict[str, object]:
    settings: dict[str, object] = {
        "OTC_AUTH_METHODS": ["hmac", "api_key"],
        "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: HMAC_SECRET, OTHER_CLIENT: OTHER_SECRET},
        "OTC_AUTH_API_KEYS": [API_KEY],
        "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
        "OTC_AUTH_RATELIMIT_STORAGE_URI": storage_uri,
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain HTTP on 127.0.0.1, no proxy in front
    }
    settings.update(overrides)
    return settings


def replay_across_workers(base_url: str) -> tuple[httpx.Response, httpx.Response]:
    url = f"{base_url}/tools/echo"
    headers = sign_request("POST", url, key_id=HMAC_CLIENT, secret=HMAC_SECRET, body=BODY)
    first = httpx.post(url, content=BODY, headers=headers, timeout=10)
    again = httpx.post(url, content=BODY, headers=headers, timeout=10)
    assert first.headers["X-Worker-Pid"] != again.headers["X-Worker-Pid"]
    return first, again


@pytest.mark.redis
def test_nonce_used_on_one_worker_is_refused_on_the_other(
    gunicorn: ServerFactory, redis_url: str
) -> None:
    settle_nonce_store(redis_url)
    base_url = gunicorn(hmac_settings(redis_url), args=ONE_REQUEST_PER_WORKER)

    first, again = replay_across_workers(base_url)

    assert first.status_code == 200
    assert again.status_code == 401
    assert "nonce was already used" in again.json()["developer_message"]


def test_without_shared_storage_another_worker_accepts_the_replay(
    gunicorn: ServerFactory,
) -> None:
    """Why the deployment page asks for Redis: the default memory storage is per process."""
    base_url = gunicorn(hmac_settings("memory://"), args=ONE_REQUEST_PER_WORKER)

    first, again = replay_across_workers(base_url)

    assert [first.status_code, again.status_code] == [200, 200]


@pytest.mark.redis
def test_rate_limit_of_n_admits_exactly_n_across_workers(
    gunicorn: ServerFactory, redis_url: str
) -> None:
    settle_nonce_store(redis_url)
    base_url = gunicorn(hmac_settings(redis_url, OTC_AUTH_RATELIMIT="3/minute",
                                      # a fixed window could reset in the middle of the test
                                      RATELIMIT_STRATEGY="moving-window"),
                        args=ONE_REQUEST_PER_WORKER)

    with httpx.Client(base_url=base_url, auth=HttpxAuth(OTHER_CLIENT, OTHER_SECRET),
                      timeout=10) as http:
        responses = [http.post("/tools/echo", content=BODY) for _ in range(5)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[-1].json()["error"] == "rate_limited"
    assert len({r.headers["X-Worker-Pid"] for r in responses}) == 5


@pytest.mark.redis
def test_twenty_parallel_identical_requests_get_exactly_one_200(
    gunicorn: ServerFactory, redis_url: str
) -> None:
    """Released together by a barrier, for several nonces in a row."""
    settle_nonce_store(redis_url)
    base_url = gunicorn(hmac_settings(redis_url),
                        args=("-w", "2", "--worker-class", "gthread", "--threads", "4"))
    url = f"{base_url}/tools/echo"

    def statuses(pool: ThreadPoolExecutor) -> list[int]:
        headers = sign_request("POST", url, key_id=HMAC_CLIENT, secret=HMAC_SECRET, body=BODY)
        barrier = threading.Barrier(20)

        def send(_: int) -> int:
            barrier.wait(timeout=20)
            return httpx.post(url, content=BODY, headers=headers, timeout=20).status_code

        return sorted(pool.map(send, range(20)))

    with ThreadPoolExecutor(max_workers=20) as pool:
        rounds = [statuses(pool) for _ in range(3)]

    assert rounds == [[200] + [401] * 19] * 3


def test_real_server_accepts_a_request_signed_by_hand_from_the_rfc(
    gunicorn: ServerFactory,
) -> None:
    """The independent construction (tests/rfc9421.py) over a socket: an encoded slash in the
    path and a percent-encoded non-ASCII query must reach the verifier as the client wrote them."""
    base_url = gunicorn(hmac_settings("memory://"))
    url = f"{base_url}/tools/a%2Fb?q=%C3%A9t%C3%A9&path=%2Fetc"
    headers = rfc9421.sign("POST", url, BODY, key_id=HMAC_CLIENT, secret=HMAC_SECRET,
                           created=int(time.time()), nonce="hand-made-over-a-socket")

    response = httpx.post(url, content=BODY, headers=headers, timeout=10)

    assert response.status_code == 200
    assert response.json()["name"] == "a/b"
    assert response.json()["subject"] == HMAC_CLIENT


def test_proxy_fix_behind_a_tls_proxy_with_a_path_prefix(gunicorn: ServerFactory) -> None:
    """The client signs the public URL; the proxy strips /otc and forwards over plain HTTP."""
    base_url = gunicorn(hmac_settings("memory://", OTC_AUTH_REQUIRE_HTTPS=True),
                        env={"OTCAUTH_TEST_PROXY_FIX": "1"})
    headers = sign_request("POST", "https://tools.example.com/otc/tools/echo?x=1",
                           key_id=HMAC_CLIENT, secret=HMAC_SECRET, body=BODY)
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "tools.example.com", "X-Forwarded-Prefix": "/otc"}

    response = httpx.post(f"{base_url}/tools/echo?x=1", content=BODY,
                          headers={**headers, **forwarded}, timeout=10)

    assert response.status_code == 200
    assert response.json()["subject"] == HMAC_CLIENT


def test_example_tool_server_takes_signed_tool_calls(gunicorn: ServerFactory) -> None:
    """The example app, configured by environment variables alone, serves signed callers."""
    clients = {HMAC_CLIENT: {"secrets": [HMAC_SECRET], "scopes": ["tools:list", "tools:call:*"]}}
    base_url = gunicorn(hmac_settings("memory://", OTC_AUTH_RATELIMIT="100/minute",
                                      OTC_AUTH_HMAC_CLIENTS=clients),
                        app="example_app:create_app()")
    body = {"request": {"tool_id": "Text.Stats", "input": {"text": "signed over a socket"}}}

    with httpx.Client(base_url=base_url, auth=HttpxAuth(HMAC_CLIENT, HMAC_SECRET),
                      timeout=10) as http:
        listed = http.get("/tools")
        called = http.post("/tools/call", json=body)

    assert listed.status_code == 200
    assert called.status_code == 200
