"""A policy's endpoint rules through HTTP: Flask endpoint names, URL rules, a blueprint's
endpoints and the tool an OXP call names in its body, which the view still reads.

The OXP call is ``POST /tools/call`` with ``{"request": {"tool_id": ...}}`` (the OTC/OXP
protocol's CallToolRequest); its body is JSON (RFC 8259).
"""

from __future__ import annotations

import json

import pytest

from ..helpers import (
    API_KEY,
    AUDIENCE,
    HMAC_CLIENT,
    HMAC_SECRET,
    assert_refused,
    bearer,
    make_token,
    signed,
)
from .conftest import PolicyApp, call, get


def test_an_allowed_endpoint_name_lets_its_view_in_and_no_other(policy_app: PolicyApp) -> None:
    """allowed_endpoints by Flask endpoint name."""
    app = policy_app({"allowed_endpoints": ["list_tools"]})
    assert get(app, "/tools").status_code == 200
    assert_refused(get(app, "/items/7"), 403, "endpoint_not_allowed", challenges=[],
                   presented=API_KEY)


def test_an_allowed_url_rule_matches_the_rule_not_the_path(policy_app: PolicyApp) -> None:
    """A URL rule as registered, converters included, matches every path of the rule."""
    app = policy_app({"allowed_endpoints": ["/items/<int:item_id>"]})
    assert get(app, "/items/7").status_code == 200
    assert get(app, "/items/8").status_code == 200
    assert_refused(get(app, "/tools"), 403, "endpoint_not_allowed")
    paths = policy_app({"allowed_endpoints": ["/items/7"]})
    assert_refused(get(paths, "/items/7"), 403, "endpoint_not_allowed")


def test_a_blocked_blueprint_endpoint_is_refused_and_the_rest_allowed(
        policy_app: PolicyApp) -> None:
    """blocked_endpoints by a blueprint's endpoint name ("admin.purge")."""
    app = policy_app({"blocked_endpoints": ["admin.purge"]})
    assert_refused(get(app, "/admin/purge"), 403, "endpoint_not_allowed")
    assert get(app, "/tools").status_code == 200


def test_blocked_wins_over_allowed(policy_app: PolicyApp) -> None:
    """An endpoint in both lists is refused."""
    app = policy_app({"allowed_endpoints": ["list_tools", "item"],
                      "blocked_endpoints": ["/items/<int:item_id>"]})
    assert get(app, "/tools").status_code == 200
    assert_refused(get(app, "/items/1"), 403, "endpoint_not_allowed")


@pytest.mark.parametrize(("tool", "status"), [
    ("Math.Add", 200), ("Math.Multiply", 200), ("Text.Upper", 403), ("MathX.Add", 403),
])
def test_an_allowed_toolkit_lets_its_tools_be_called_and_no_other(
        policy_app: PolicyApp, tool: str, status: int) -> None:
    """tool:Math.* allows the tools whose id starts with Math., read from the OXP body."""
    response = call(policy_app({"allowed_endpoints": ["list_tools", "tool:Math.*"]}), tool)
    assert response.status_code == status
    if status == 403:
        assert_refused(response, 403, "endpoint_not_allowed")


def test_the_view_reads_the_same_body_the_policy_read(policy_app: PolicyApp) -> None:
    """The body is read once for the policy and kept: the view gets the same bytes."""
    body = json.dumps({"request": {"tool_id": "Math.Add", "input": {"a": 1}}}).encode()
    response = call(policy_app({"allowed_endpoints": ["tool:Math.Add"]}), "Math.Add",
                    body=body)
    assert response.status_code == 200
    assert response.json == {"tool": "Math.Add", "bytes": len(body)}


def test_an_exact_tool_id_allows_that_tool_only(policy_app: PolicyApp) -> None:
    """tool:Math.Add is no prefix: Math.AddAll is another tool."""
    app = policy_app({"allowed_endpoints": ["tool:Math.Add"]})
    assert call(app, "Math.Add").status_code == 200
    assert_refused(call(app, "Math.AddAll"), 403, "endpoint_not_allowed")
    assert_refused(get(app, "/tools"), 403, "endpoint_not_allowed")


def test_allowing_the_call_endpoint_allows_every_tool(policy_app: PolicyApp) -> None:
    """Listing the view itself (call_tool) lets every tool through."""
    app = policy_app({"allowed_endpoints": ["call_tool", "tool:Math.Add"]})
    assert call(app, "Text.Upper").status_code == 200


@pytest.mark.parametrize(("tool", "status"), [("Admin.Purge", 403), ("Math.Add", 200)])
def test_a_blocked_toolkit_is_refused_and_other_tools_called(
        policy_app: PolicyApp, tool: str, status: int) -> None:
    """blocked_endpoints: tool:Admin.* refuses the Admin toolkit only."""
    assert call(policy_app({"blocked_endpoints": ["tool:Admin.*"]}), tool).status_code == status


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"request": {}}', b'{"request": {"tool_id": 7}}',
])
def test_a_call_naming_no_readable_tool_is_refused_by_a_policy_that_lists_tools(
        policy_app: PolicyApp, body: bytes) -> None:
    """Neither list can be checked without the tool: refused, never let through."""
    app = policy_app({"blocked_endpoints": ["tool:Admin.*"]})
    assert_refused(call(app, "-", body=body), 403, "endpoint_not_allowed", hint="tool_id")


def test_a_call_body_over_max_content_length_is_refused_without_being_read(
        policy_app: PolicyApp) -> None:
    """MAX_CONTENT_LENGTH bounds the read: a larger body is a 403 of ours, not a 413 or 500."""
    app = policy_app({"allowed_endpoints": ["tool:Math.*"]})
    app.config["MAX_CONTENT_LENGTH"] = 100
    padded = json.dumps({"request": {"tool_id": "Math.Add", "pad": "x" * 200}}).encode()
    assert_refused(call(app, "Math.Add", body=padded), 403, "endpoint_not_allowed")
    assert call(app, "Math.Add").status_code == 200


def test_a_policy_without_tools_leaves_the_body_to_the_view(policy_app: PolicyApp) -> None:
    """Only a policy that lists tools reads the body: here the view answers a bad body."""
    app = policy_app({"allowed_endpoints": ["call_tool"]})
    assert call(app, "-", body=b"not json").status_code == 400


def test_a_signed_call_is_checked_against_its_hmac_clients_policy(
        policy_app: PolicyApp) -> None:
    """An hmac client record's policy (RFC 9421 signature over the body the policy reads)."""
    app = policy_app(OTC_AUTH_METHODS=["hmac"], OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: {
        "secrets": [HMAC_SECRET], "policy": {"allowed_endpoints": ["tool:Math.*"]}}})
    for tool, status in (("Math.Add", 200), ("Admin.Purge", 403)):
        body = json.dumps({"request": {"tool_id": tool}}).encode()
        headers = {**signed("POST", "/tools/call", body), "Content-Type": "application/json"}
        response = app.test_client().post("/tools/call", data=body, headers=headers)
        assert response.status_code == status, response.json


def test_a_token_clients_endpoint_policy_holds_its_tokens(policy_app: PolicyApp) -> None:
    """OTC_AUTH_CLIENT_POLICIES by the client a token's aud names (RFC 7519 section 4.1.3)."""
    app = policy_app(OTC_AUTH_CLIENT_POLICIES={AUDIENCE: {"allowed_endpoints": ["/tools"]}})
    token = bearer(make_token(sub="dashboard-user", aud=AUDIENCE))
    assert get(app, "/tools", headers=token).status_code == 200
    assert_refused(get(app, "/items/1", headers=token), 403, "endpoint_not_allowed")
    assert get(app, "/items/1").status_code == 200  # the API key has no policy
