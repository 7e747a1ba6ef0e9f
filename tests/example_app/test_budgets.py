"""The example server's budgets and tenants: a cost on a tool, a tenant-scoped usage view, the
dev key's budget, and the OXP client's view of an exhausted budget (429 as RateLimitError)."""

from __future__ import annotations

import shlex
from collections.abc import Callable

import oxp
import pytest
from flask import Flask

from example_app import create_app

from .support import KEY_RECORD, call_body, key_headers, mint
from .test_oxp_client import ClientFactory, oxp_client  # noqa: F401 - the fixture

BUDGETED = {"OTC_AUTH_API_KEYS": [{**KEY_RECORD, "tenant": "acme", "budget": 5}]}


def test_text_stats_costs_two_units_of_a_budget(make_app: Callable[..., Flask]) -> None:
    client = make_app(**BUDGETED).test_client()

    stats = client.post("/tools/call", json=call_body("Text.Stats", {"text": "a b"}),
                        headers=key_headers())
    add = client.post("/tools/call", json=call_body("Math.Add", {"a": 1, "b": 2}),
                      headers=key_headers())

    assert stats.headers["RateLimit"].startswith('"budget";r=3;')
    assert add.headers["RateLimit"].startswith('"budget";r=2;')


def test_the_usage_view_shows_the_tenant_s_remaining_budget_without_spending(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(**BUDGETED).test_client()
    client.post("/tools/call", json=call_body("Text.Stats", {"text": "a"}), headers=key_headers())

    first = client.get("/tenants/acme/usage", headers=key_headers())
    second = client.get("/tenants/acme/usage", headers=key_headers())

    assert first.status_code == 200
    assert first.json is not None
    assert first.json["tenant"] == "acme" and first.json["caller"] == "agent-key"
    [budget] = first.json["budgets"]
    assert (budget["name"], budget["limit"], budget["used"], budget["remaining"]) == (
        "budget", 5, 2, 3)
    assert second.json is not None and second.json["budgets"][0]["used"] == 2  # cost=0


def test_the_usage_view_refuses_another_tenant(make_app: Callable[..., Flask]) -> None:
    response = make_app(**BUDGETED).test_client().get("/tenants/globex/usage",
                                                      headers=key_headers())

    assert response.status_code == 403
    assert response.json is not None and response.json["error"] == "tenant_mismatch"


def test_the_dev_banner_s_usage_line_works(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app({"TESTING": True, "EXAMPLE_DEV_MODE": True})
    [line] = [line.strip() for line in capsys.readouterr().err.splitlines()
              if "/usage" in line]
    _, url, _, header = shlex.split(line)
    name, value = header.split(": ", 1)

    response = app.test_client().get(url, headers={name: value})

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["budgets"][0]["limit"] == 1000


def test_an_exhausted_budget_raises_rate_limit_error_with_its_body(
        oxp_client: ClientFactory) -> None:  # noqa: F811 - the fixture
    client = oxp_client(mint(token_budget=2))
    client.tools.call(request={"tool_id": "Text.Stats", "input": {"text": "a"}})

    with pytest.raises(oxp.RateLimitError) as raised:
        client.tools.call(request={"tool_id": "Math.Add", "input": {"a": 1, "b": 2}})

    assert raised.value.status_code == 429
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["error"] == "budget_exhausted"
    assert int(raised.value.response.headers["Retry-After"]) > 0
    assert raised.value.response.headers["RateLimit"].startswith('"budget";r=0;')
