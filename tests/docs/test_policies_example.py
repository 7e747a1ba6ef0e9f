"""docs/examples/policies.py, the configuration docs/policies.md shows, answering as the page
says: the CI key from its network in Berlin office hours on its tools only, the signing client
kept from the Admin tools, the dashboard's tokens on the listing, ProxyFix or not."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from policies import create_app
from werkzeug.test import TestResponse

from flask_otcauth import generate_key, hash_key

from ..helpers import HMAC_SECRET, JWT_SECRET, assert_refused, bearer, make_token, signed
from .conftest import page_text

KEY = generate_key("test")
TUESDAY_10_BERLIN = datetime(2026, 12, 8, 10, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


@pytest.fixture
def at_tuesday_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: TUESDAY_10_BERLIN)


def app_of(**options: Any) -> Flask:
    return create_app(hash_key(KEY), HMAC_SECRET, JWT_SECRET, TESTING=True, **options)


def ci_call(app: Flask, tool: str, address: str = "10.20.3.4",
            headers: dict[str, str] | None = None) -> TestResponse:
    return app.test_client().post(
        "/tools/call", json={"request": {"tool_id": tool, "input": {}}},
        headers={"OTC-API-Key": KEY, **(headers or {})}, environ_base={"REMOTE_ADDR": address})


def test_the_ci_key_calls_its_toolkit_from_its_network_in_office_hours(
        at_tuesday_ten: None) -> None:
    app = app_of()
    assert ci_call(app, "Math.Add").json == {"caller": "ci-bot", "tool": "Math.Add"}
    assert_refused(ci_call(app, "Admin.Purge"), 403, "endpoint_not_allowed")
    assert_refused(ci_call(app, "Math.Add", address="192.0.2.1"), 403, "ip_not_allowed")


def test_the_ci_key_is_refused_on_a_saturday(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: TUESDAY_10_BERLIN + 4 * 86400)
    assert_refused(ci_call(app_of(), "Math.Add"), 403, "outside_allowed_hours")


def test_behind_the_proxy_the_forwarded_address_counts(at_tuesday_ten: None) -> None:
    forwarded = {"X-Forwarded-For": "10.20.3.4"}
    assert ci_call(app_of(behind_proxy=True), "Math.Add", "127.0.0.1", forwarded).status_code == 200
    assert_refused(ci_call(app_of(), "Math.Add", "127.0.0.1", forwarded), 403, "ip_not_allowed")


def test_the_signing_client_is_kept_from_the_admin_tools() -> None:
    app = app_of()
    for tool, status in (("Text.Upper", 200), ("Admin.Purge", 403)):
        body = json.dumps({"request": {"tool_id": tool}}).encode()
        headers = {**signed("POST", "/tools/call", body, key_id="agent-platform"),
                   "Content-Type": "application/json"}
        assert app.test_client().post("/tools/call", data=body,
                                      headers=headers).status_code == status


def test_the_dashboards_tokens_list_tools_and_call_none() -> None:
    app = app_of()
    token = bearer(make_token(sub="someone", aud="dashboard"))
    assert app.test_client().get("/tools", headers=token).status_code == 200
    refused = app.test_client().post("/tools/call", json={"request": {"tool_id": "Math.Add"}},
                                     headers=token)
    assert_refused(refused, 403, "endpoint_not_allowed")


def test_the_policies_page_shows_the_example_and_every_rule(built_docs: Any) -> None:
    text = page_text(built_docs, "policies")
    for phrase in ('"ip_allowlist": ["10.20.0.0/16", "2001:db8:20::/48"]', "ProxyFix(",
                   "ip_not_allowed", "outside_allowed_hours", "endpoint_not_allowed",
                   "OTC_AUTH_TOKEN_ADDRESS_CLAIM", "NAT", "mobile networks"):
        assert phrase in text, phrase
