"""Policies on a real server: gunicorn with two workers on 127.0.0.1, the limits in the real
local Redis, ProxyFix on and off (``tests.served_app``).

The client address is the TCP peer (127.0.0.1) unless ProxyFix trusts the proxy's
X-Forwarded-For; limits are counted across workers in Redis (the admit script).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..conftest import ServerFactory
from ..helpers import API_KEY, OTHER_API_KEY, assert_refused, key_record

pytestmark = pytest.mark.e2e

LOCAL = {"OTC-API-Key": API_KEY}  # allowed from 127.0.0.1 only
BUILD_NETWORK = {"OTC-API-Key": OTHER_API_KEY}  # allowed from 10.0.0.0/8 only


def settings(redis_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "OTC_AUTH_METHODS": ["api_key"],
        "OTC_AUTH_API_KEYS": [
            key_record(API_KEY, policy={"ip_allowlist": ["127.0.0.1/32", "::1/128"],
                                        "ratelimit": "3/hour"}),
            {**key_record(OTHER_API_KEY), "id": "build-bot",
             "policy": {"ip_allowlist": ["10.0.0.0/8"]}},
        ],
        "OTC_AUTH_RATELIMIT": "100/hour",
        "OTC_AUTH_FAILURE_RATELIMIT": "100/hour",
        "OTC_AUTH_RATELIMIT_STORAGE_URI": redis_url,
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain HTTP on 127.0.0.1: addresses are the point
        **overrides,
    }


def test_without_proxyfix_the_peer_address_decides_and_forwarded_headers_are_ignored(
        gunicorn: ServerFactory, redis_url: str) -> None:
    """The TCP peer is 127.0.0.1: the local key passes, the build network's key is refused
    even when X-Forwarded-For names its network."""
    base = gunicorn(settings(redis_url))
    assert httpx.get(f"{base}/tools/a", headers=LOCAL).status_code == 200
    forged = {**BUILD_NETWORK, "X-Forwarded-For": "10.1.2.3"}
    assert_refused(httpx.get(f"{base}/tools/a", headers=forged), 403, "ip_not_allowed")


def test_with_proxyfix_the_proxys_forwarded_address_decides(
        gunicorn: ServerFactory, redis_url: str) -> None:
    """Behind ProxyFix(x_for=1) the forwarded address is the client's, for both keys."""
    base = gunicorn(settings(redis_url), env={"OTCAUTH_TEST_PROXY_FIX": "1"})
    inside = {**BUILD_NETWORK, "X-Forwarded-For": "10.1.2.3"}
    assert httpx.get(f"{base}/tools/a", headers=inside).status_code == 200
    elsewhere = {**LOCAL, "X-Forwarded-For": "192.0.2.1"}
    assert_refused(httpx.get(f"{base}/tools/a", headers=elsewhere), 403, "ip_not_allowed")


def test_a_policys_limit_holds_across_workers(gunicorn: ServerFactory, redis_url: str) -> None:
    """3/hour for the local key, counted in Redis whichever worker answers; the app's
    100/hour is not that caller's budget."""
    base = gunicorn(settings(redis_url))
    with httpx.Client() as client:  # a new connection per request spreads them over workers
        answers = [client.get(f"{base}/tools/a", headers={**LOCAL, "Connection": "close"})
                   for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    assert_refused(answers[3], 429, "rate_limited", hint="3 per 1 hour")


def test_refusals_by_address_lock_the_address_out_across_workers(
        gunicorn: ServerFactory, redis_url: str) -> None:
    """Issue 16: refused by address, counted as failures in Redis: the third is 429."""
    base = gunicorn(settings(redis_url, OTC_AUTH_FAILURE_RATELIMIT="2/hour"))
    statuses = [httpx.get(f"{base}/tools/a", headers={**BUILD_NETWORK, "Connection": "close"}
                          ).status_code for _ in range(3)]
    assert statuses == [403, 403, 429]


@pytest.mark.parametrize("proxied", [False, True], ids=["peer", "proxyfix"])
def test_the_edges_of_a_range_on_a_real_server_with_and_without_proxyfix(
        gunicorn: ServerFactory, redis_url: str, proxied: bool) -> None:
    """RFC 4632 section 3.1 and RFC 4291 section 2.5.5.2, through gunicorn: behind ProxyFix
    the forwarded edges of 10.0.0.0/8 are allowed and their neighbours refused, in IPv4 and
    IPv4-mapped form; without it the peer (127.0.0.1) decides and every one is refused."""
    base = gunicorn(settings(redis_url),
                    env={"OTCAUTH_TEST_PROXY_FIX": "1"} if proxied else None)
    edges = {"10.0.0.0": 200, "10.255.255.255": 200, "::ffff:10.255.255.255": 200,
             "9.255.255.255": 403, "11.0.0.0": 403, "::ffff:11.0.0.0": 403}
    for forwarded, status in edges.items():
        response = httpx.get(f"{base}/tools/a",
                             headers={**BUILD_NETWORK, "X-Forwarded-For": forwarded})
        assert response.status_code == (status if proxied else 403), forwarded
