"""init_app refuses a malformed policy, naming the record and the field; a loader's record with
one is a failing loader (503), never a 500 or a policy silently dropped."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from flask_otcauth import OTCAuth, OTCAuthConfigError, require_auth

from ..conftest import base_config
from ..helpers import API_KEY, AUDIENCE, HMAC_CLIENT, HMAC_SECRET, assert_refused, key_record
from .conftest import PolicyApp, get

RECORD = 'OTC_AUTH_API_KEYS[0] (id "ci-bot").policy'


@pytest.mark.parametrize(("policy", "named"), [
    ({"ip_allowlist": ["10.0.0.1/8"]}, f"{RECORD}.ip_allowlist[0]"),
    ({"ip_allowlist": ["10.0.0.0/8", "10.0.0.300"]}, f"{RECORD}.ip_allowlist[1]"),
    ({"ip_denylist": ["2001:db8::1/32"]}, f"{RECORD}.ip_denylist[0]"),
    ({"ip_denylist": [7]}, f"{RECORD}.ip_denylist[0]"),
    ({"ip_allowlist": []}, f"{RECORD}.ip_allowlist is empty"),
    ({"allowed_hours": "9-17"}, f"{RECORD}.allowed_hours"),
    ({"allowed_hours": "09:00-24:30"}, f"{RECORD}.allowed_hours"),
    ({"allowed_hours": "24:00-06:00"}, f"{RECORD}.allowed_hours"),
    ({"allowed_hours": ["09:00-12:00", "13:60-17:00"]}, f"{RECORD}.allowed_hours[1]"),
    ({"allowed_hours": "09:00-09:00"}, f"{RECORD}.allowed_hours"),
    ({"allowed_weekdays": ["mon", "funday"]}, f"{RECORD}.allowed_weekdays[1]"),
    ({"allowed_weekdays": "mon-xyz"}, f"{RECORD}.allowed_weekdays"),
    ({"timezone": "Mars/Olympus_Mons"}, f"{RECORD}.timezone"),
    ({"timezone": 1}, f"{RECORD}.timezone"),
    ({"allowed_endpoints": []}, f"{RECORD}.allowed_endpoints is empty"),
    ({"blocked_endpoints": ["tool:"]}, f"{RECORD}.blocked_endpoints[0]"),
    ({"blocked_endpoints": ["tool:*.Add"]}, f"{RECORD}.blocked_endpoints[0]"),
    ({"ratelimit": "100 a minute"}, f"{RECORD}.ratelimit"),
    ({"ip_allow": ["10.0.0.0/8"]}, "unknown field 'ip_allow'"),
    ("10.0.0.0/8", f"{RECORD} must be a policy"),
])
def test_a_malformed_key_record_policy_names_the_record_and_the_field(
        policy_app: PolicyApp, policy: Any, named: str) -> None:
    with pytest.raises(OTCAuthConfigError, match=re.escape(named)):
        policy_app(policy)


def test_a_range_with_host_bits_set_is_refused_with_the_range_meant(
        policy_app: PolicyApp) -> None:
    """strict CIDR: 10.0.0.1/8 is a typo for 10.0.0.0/8, not silently widened."""
    with pytest.raises(OTCAuthConfigError, match=re.escape("did you mean 10.0.0.0/8?")):
        policy_app({"ip_allowlist": ["10.0.0.1/8"]})


def test_a_malformed_hmac_client_policy_names_the_client_and_the_field(
        policy_app: PolicyApp) -> None:
    with pytest.raises(OTCAuthConfigError, match=re.escape(
            f'OTC_AUTH_HMAC_CLIENTS["{HMAC_CLIENT}"].policy.allowed_hours')):
        policy_app(OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: {
            "secrets": [HMAC_SECRET], "policy": {"allowed_hours": "late"}}})


def test_a_malformed_client_policy_names_the_client_and_the_field(policy_app: PolicyApp) -> None:
    with pytest.raises(OTCAuthConfigError, match=re.escape(
            f'OTC_AUTH_CLIENT_POLICIES["{AUDIENCE}"].timezone')):
        policy_app(OTC_AUTH_CLIENT_POLICIES={AUDIENCE: {"timezone": "Europe/Atlantis"}})


@pytest.mark.parametrize("value", [["client_ip"], "", 7])
def test_a_token_address_claim_that_is_no_claim_name_is_refused(
        policy_app: PolicyApp, value: object) -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_TOKEN_ADDRESS_CLAIM"):
        policy_app(OTC_AUTH_TOKEN_ADDRESS_CLAIM=value)


def test_a_well_formed_policy_with_every_field_is_accepted(policy_app: PolicyApp) -> None:
    app = policy_app({
        "ip_allowlist": ["10.0.0.0/8", "2001:db8::/32", "198.51.100.7"],
        "ip_denylist": ["10.0.5.0/24"], "allowed_hours": ["00:00-24:00"],
        "timezone": "America/New_York", "allowed_weekdays": ["monday", "tue-sun"],
        "allowed_endpoints": ["list_tools", "/items/<int:item_id>", "tool:*"],
        "blocked_endpoints": ["tool:Admin.*"], "ratelimit": "100/minute;1000/hour;10000/day",
    })
    assert get(app).status_code == 200
    record = app.extensions["otcauth"].settings(app).of("api_key").records[0]
    assert record.policy is not None and record.policy.weekdays == frozenset(range(7))


def test_a_loader_record_with_a_malformed_policy_is_a_failing_loader() -> None:
    """The loader's record is validated like a configured one: 503 key_lookup_unavailable."""
    record = key_record(API_KEY, policy={"ip_allowlist": ["not-a-range"]})
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=[]))
    OTCAuth(app, api_key_loader={record["hash"]: record}.get)
    app.add_url_rule("/tools", "list_tools", require_auth(lambda: {"ok": True}))
    assert_refused(get(app), 503, "key_lookup_unavailable")


def test_a_loader_records_policy_applies_to_its_key() -> None:
    """A record from the app's own database carries its policy like a configured one."""
    record = key_record(API_KEY, policy={"ip_allowlist": ["10.0.0.0/24"]})
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=[]))
    OTCAuth(app, api_key_loader={record["hash"]: record}.get)
    app.add_url_rule("/tools", "list_tools", require_auth(lambda: {"ok": True}))
    assert get(app, address="10.0.0.9").status_code == 200
    assert_refused(get(app, address="10.0.1.9"), 403, "ip_not_allowed")


def test_check_names_the_policies_and_the_address_binding(policy_app: PolicyApp) -> None:
    """flask otcauth check: which records and clients carry a policy, and the binding's claim."""
    app = policy_app({"ip_allowlist": ["10.0.0.0/8"]},
                     OTC_AUTH_CLIENT_POLICIES={AUDIENCE: {"allowed_endpoints": ["list_tools"]}},
                     OTC_AUTH_TOKEN_ADDRESS_CLAIM="client_ip")
    output = app.test_cli_runner().invoke(args=["otcauth", "check"]).output
    assert '"ci-bot", sha256:' in output and ", policy" in output
    assert f'client policies: "{AUDIENCE}"' in output
    assert "bound to the caller's address by the client_ip claim" in output
