"""Scopes per tool in the example server: tools:list, tools:call:<Toolkit>.<Name>, wildcards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from flask_otcauth import hash_key

from ..helpers import assert_refused, scope_challenge
from .support import API_KEY, TOOL_IDS, WITHOUT_STEP_UP, call_body, key_headers, mint


def app_with_scopes(make_app: Callable[..., Flask], *scopes: str) -> Flask:
    return make_app(OTC_AUTH_API_KEYS=[{"id": "limited", "hash": hash_key(API_KEY),
                                        "scopes": list(scopes)}])


def listed(app: Flask, headers: dict[str, str] | None = None) -> list[str]:
    response = app.test_client().get("/tools", headers=headers or key_headers())
    assert response.status_code == 200, response.json
    assert response.json is not None
    return [item["id"] for item in response.json["items"]]


def call(app: Flask, tool_id: str, tool_input: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> TestResponse:
    return app.test_client().post("/tools/call", json=call_body(tool_id, tool_input or {}),
                                  headers=headers or key_headers())


def test_listing_shows_only_the_tools_the_caller_may_call(make_app: Callable[..., Flask]) -> None:
    app = app_with_scopes(make_app, "tools:list", "tools:call:Math.*")

    # Math.Evaluate too needs a step-up (RFC 9470) that an API key never gives.
    assert listed(app) == ["Math.Add@1.0.0", "Math.Divide@1.0.0"]


def test_one_tool_scope_lists_one_tool(make_app: Callable[..., Flask]) -> None:
    app = app_with_scopes(make_app, "tools:list", "tools:call:Text.Stats")

    assert listed(app) == ["Text.Stats@1.0.0"]


def test_the_call_wildcard_lists_every_tool_a_key_can_call(
        make_app: Callable[..., Flask]) -> None:
    assert listed(app_with_scopes(make_app, "tools:list", "tools:call:*")) == WITHOUT_STEP_UP


def test_listing_needs_the_list_scope(make_app: Callable[..., Flask]) -> None:
    app = app_with_scopes(make_app, "tools:call:*")

    assert_refused(app.test_client().get("/tools", headers=key_headers()), 403,
                   "insufficient_scope", challenges=[scope_challenge("tools:list")])


def test_the_list_scope_alone_lists_nothing(make_app: Callable[..., Flask]) -> None:
    assert listed(app_with_scopes(make_app, "tools:list")) == []


def test_calling_a_tool_in_scope_works(make_app: Callable[..., Flask]) -> None:
    app = app_with_scopes(make_app, "tools:call:Math.Add")

    response = call(app, "Math.Add@1.0.0", {"a": 1, "b": 2})

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["result"]["value"] == 3


def test_calling_a_tool_out_of_scope_is_403(make_app: Callable[..., Flask]) -> None:
    app = app_with_scopes(make_app, "tools:list", "tools:call:Math.*")

    assert_refused(call(app, "Text.Stats", {"text": "a"}), 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call:Text.Stats")])


def test_a_missing_tool_out_of_scope_is_403_too(make_app: Callable[..., Flask]) -> None:
    """A caller cannot probe which tools exist beyond its scopes."""
    app = app_with_scopes(make_app, "tools:call:Math.*")

    assert_refused(call(app, "Admin.Reset"), 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call:Admin.Reset")])


def test_a_missing_tool_in_scope_is_the_protocols_400(make_app: Callable[..., Flask]) -> None:
    response = call(app_with_scopes(make_app, "tools:call:*"), "Math.Pow")

    assert response.status_code == 400


def test_a_malformed_tool_id_is_400_whatever_the_scopes(make_app: Callable[..., Flask]) -> None:
    assert call(app_with_scopes(make_app), "not a tool id").status_code == 400


def test_token_scopes_select_the_tools(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    headers = {"Authorization": "Bearer " + mint(scope="tools:list tools:call:Time.UtcNow")}

    assert listed(app, headers) == ["Time.UtcNow@1.0.0"]
    assert_refused(call(app, "Math.Add", {"a": 1, "b": 1}, headers), 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call:Math.Add")])


def test_no_auth_mode_lists_and_calls_every_tool(make_app: Callable[..., Flask]) -> None:
    app = make_app(OTC_AUTH_METHODS=["none"], OTC_AUTH_API_KEYS=[], OTC_AUTH_JWT_SECRET=None)

    assert listed(app, {}) == TOOL_IDS
    assert call(app, "Math.Add", {"a": 1, "b": 1}, {}).status_code == 200
