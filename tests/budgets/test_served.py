"""Budgets and tenants on a real server: gunicorn with two workers on 127.0.0.1, the budgets
in the real local Redis (``tests.served_app``), under concurrent requests."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from ..conftest import ServerFactory
from .conftest import ACME_KEY, GLOBEX_KEY, record

pytestmark = pytest.mark.e2e


def settings(redis_url: str, acme_budget: int, globex_budget: int,
             **overrides: Any) -> dict[str, Any]:
    return {
        "OTC_AUTH_METHODS": ["api_key"],
        "OTC_AUTH_API_KEYS": [record(ACME_KEY, "acme-bot", tenant="acme", budget=acme_budget),
                              record(GLOBEX_KEY, "globex-bot", tenant="globex",
                                     budget=globex_budget)],
        "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
        "OTC_AUTH_STORAGE_URI": redis_url,
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain HTTP on 127.0.0.1
        **overrides,
    }


def test_a_budget_of_n_admits_exactly_n_across_two_workers(
        gunicorn: ServerFactory, redis_url: str) -> None:
    base = gunicorn(settings(redis_url, acme_budget=20, globex_budget=1))

    with httpx.Client(base_url=base, headers={"OTC-API-Key": ACME_KEY}) as client, \
            ThreadPoolExecutor(12) as pool:
        # Each admitted call holds its worker 50 ms, so the other worker takes calls too.
        responses = list(pool.map(lambda n: client.post(f"/tools/t{n}?hold=0.05"), range(60)))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 20, 429: 40}
    assert {r.json()["error"] for r in responses if r.status_code == 429} == {"budget_exhausted"}
    assert len({response.headers["X-Worker-Pid"] for response in responses}) == 2
    remaining = sorted(int(r.headers["RateLimit"].split(";")[1].removeprefix("r="))
                       for r in responses if r.status_code == 200)
    assert remaining == list(range(20))  # every unit spent once, by one request


def test_parallel_tenants_never_see_each_other_s_budgets_or_data(
        gunicorn: ServerFactory, redis_url: str) -> None:
    """acme's tenant budget (12) is smaller than its key's (15), globex's key budget (25)
    smaller than its tenant's (30): each tenant stops at its own smaller one."""
    base = gunicorn(settings(redis_url, acme_budget=15, globex_budget=25,
                             OTC_AUTH_TENANT_BUDGETS={"acme": 12, "globex": 30}))
    keys = {"acme": ACME_KEY, "globex": GLOBEX_KEY}

    def visit(job: tuple[str, int]) -> tuple[str, httpx.Response, httpx.Response, httpx.Response]:
        tenant, n = job
        other = "globex" if tenant == "acme" else "acme"
        with httpx.Client(base_url=base, headers={"OTC-API-Key": keys[tenant]}) as client:
            return (tenant, client.post(f"/tools/{tenant}-{n}"),
                    client.get(f"/tenants/{tenant}/data"), client.get(f"/tenants/{other}/data"))

    jobs = [(tenant, n) for n in range(40) for tenant in ("acme", "globex")]
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(visit, jobs))

    admitted = Counter(tenant for tenant, call, _, _ in results if call.status_code == 200)
    assert admitted == {"acme": 12, "globex": 25}
    limits = {"acme": (15, 12), "globex": (25, 30)}
    for tenant, call, own, other in results:
        key_limit, tenant_limit = limits[tenant]
        assert call.headers["RateLimit-Policy"] == (
            f'"budget";q={key_limit};w=86400, "tenant";q={tenant_limit};w=86400')
        data = own.json()
        assert (data["tenant"], data["bound_to"], data["caller"]) == (
            tenant, tenant, f"{tenant}-bot")
        assert [budget["limit"] for budget in data["budgets"]] == [key_limit, tenant_limit]
        assert other.status_code == 403
        assert other.json()["error"] == "tenant_mismatch"
