"""Per-tool scopes decided by the extension from the OXP call's body, before the view runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.test import EnvironBuilder, TestResponse

from flask_otcauth import OTCAuth, OTCAuthConfigError, require_auth

from ..conftest import base_config
from ..helpers import API_KEY, assert_refused, key_record, scope_challenge

TOOLS = ["Math.Add@1.0.0", "Math.Divide@1.0.0", "Admin.Reset@1.0.0", "Text.Stats@2.0.0"]


def tool_app(tool_scopes: dict[str, Any] | None = None, *scopes: str,
             declare: dict[str, list[str]] | None = None, **overrides: Any) -> Flask:
    """A tool server whose key ``API_KEY`` holds ``scopes``; the view records what it read."""
    app = Flask(__name__)
    app.config.update(base_config(
        OTC_AUTH_API_KEYS=[key_record(API_KEY, scopes=list(scopes))],
        OTC_AUTH_TOOL_SCOPES=tool_scopes or {}, **overrides))
    auth = OTCAuth()
    for pattern, needed in (declare or {}).items():
        auth.tool(pattern, scopes=needed)
    auth.init_app(app)
    app.extensions["seen"] = []

    @app.get("/tools")
    @require_auth
    def list_tools() -> dict[str, Any]:
        return {"items": auth.callable_tools([{"id": tool} for tool in TOOLS])}

    @app.post("/tools/call")
    @require_auth(scopes=["tools:call"])
    def call_tool() -> tuple[dict[str, Any], int]:
        body = request.get_json(silent=True)
        app.extensions["seen"].append(body)
        if not isinstance(body, dict) or not isinstance(body.get("request"), dict):
            return {"message": "The request is malformed."}, 400
        tool = body["request"].get("tool_id")
        if tool not in TOOLS and f"{tool}@1.0.0" not in TOOLS:
            return {"message": "Unknown tool."}, 400
        return {"called": tool}, 200

    return app


def call(app: Flask, tool: str | None = None, *, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> TestResponse:
    body = data if data is not None else json.dumps({"request": {"tool_id": tool}}).encode()
    return app.test_client().post("/tools/call", data=body, headers={
        "OTC-API-Key": API_KEY, "Content-Type": "application/json", **(headers or {})})


def test_a_tool_declared_by_pattern_needs_its_scopes() -> None:
    app = tool_app({"Math.*": ["math"]}, "tools:call", "math")

    assert call(app, "Math.Add").json == {"called": "Math.Add"}
    assert call(tool_app({"Math.*": ["math"]}, "tools:call"), "Math.Add").status_code == 403


def test_the_403_names_every_scope_the_call_needs_in_one_challenge() -> None:
    """RFC 6750 section 3.1: the scope a new token must carry, the view's and the tool's."""
    app = tool_app({"*": ["tools:call:{tool}"], "Math.*": ["math"]}, "tools:call", "math")

    response = call(app, "Math.Divide@1.0.0")

    assert_refused(response, 403, "insufficient_scope",
                   hint="tools:call tools:call:Math.Divide math",
                   challenges=[scope_challenge("tools:call tools:call:Math.Divide math")])


def test_an_unknown_tool_is_refused_like_a_known_one_before_the_view_runs() -> None:
    """The caller cannot probe which tools exist beyond its scopes."""
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call", "tools:call:Math.*")

    known, unknown = call(app, "Admin.Reset"), call(app, "Admin.Nothing")

    assert_refused(known, 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call tools:call:Admin.Reset")])
    assert_refused(unknown, 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call tools:call:Admin.Nothing")])
    assert app.extensions["seen"] == []
    assert call(app, "Math.Pow").json == {"message": "Unknown tool."}


def test_a_pattern_with_a_version_matches_the_whole_id() -> None:
    app = tool_app({"Text.Stats@2*": ["text:v2"]}, "tools:call")

    assert call(app, "Text.Stats@2.0.0").status_code == 403
    assert call(app, "Text.Stats@1.0.0").status_code == 400  # unknown here, needs nothing


def test_the_decorator_form_adds_to_the_setting() -> None:
    app = tool_app({"Math.*": ["math"]}, "tools:call", "math", declare={"Math.Divide": ["div"]})

    assert call(app, "Math.Add").status_code == 200
    assert_refused(call(app, "Math.Divide"), 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call math div")])


def test_auth_tool_returns_the_function_it_decorates() -> None:
    auth = OTCAuth()

    @auth.tool("Math.Add", scopes=["math"])
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, 2) == 3
    assert [rule.pattern for rule in auth.tool_rules] == ["Math.Add"]


def test_auth_tool_after_init_app_is_refused() -> None:
    app = Flask(__name__)
    app.config.update(base_config())
    auth = OTCAuth(app)

    with pytest.raises(RuntimeError, match="before init_app"):
        auth.tool("Math.*", scopes=["math"])


def test_the_view_reads_the_body_the_extension_parsed() -> None:
    app = tool_app({"Math.*": ["math"]}, "tools:call", "math")

    call(app, "Math.Add")

    assert app.extensions["seen"] == [{"request": {"tool_id": "Math.Add"}}]


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"request": {}}',
                                  b'{"request": {"tool_id": 7}}'])
def test_a_body_naming_no_tool_is_left_to_the_views_400(data: bytes) -> None:
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call")

    assert call(app, data=data).status_code == 400
    assert len(app.extensions["seen"]) == 1


def test_a_tool_id_of_no_oxp_form_is_refused_before_the_view() -> None:
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call", "tools:call:*")

    assert_refused(call(app, "not a tool id"), 400, "invalid_tool_call", hint="Toolkit.Name")
    assert app.extensions["seen"] == []


def test_a_chunked_call_is_refused_as_its_tool_was_not_read() -> None:
    """A body of unknown length is not read by the check, so the view must not read it."""
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call", "tools:call:*")
    body = json.dumps({"request": {"tool_id": "Math.Add"}}).encode()

    environ = EnvironBuilder(path="/tools/call", method="POST", data=body, headers={
        "OTC-API-Key": API_KEY, "Content-Type": "application/json",
        "Transfer-Encoding": "chunked"}).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # as a server that decoded the chunks says

    response = app.test_client().open(environ)

    assert_refused(response, 400, "invalid_tool_call", hint="Content-Length")
    assert app.extensions["seen"] == []


def test_a_call_above_max_content_length_is_the_views_413() -> None:
    """Werkzeug will not read it for the view either: nothing reaches a tool unseen."""
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call", "tools:call:*")
    app.config["MAX_CONTENT_LENGTH"] = 64

    assert call(app, "Math.Add" + "x" * 100).status_code == 413


def test_a_listing_holds_only_the_tools_the_caller_may_call() -> None:
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call:Math.*")

    response = app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY})

    assert response.json == {"items": [{"id": "Math.Add@1.0.0"}, {"id": "Math.Divide@1.0.0"}]}


def test_no_auth_mode_lists_and_calls_every_tool() -> None:
    app = tool_app({"*": ["tools:call:{tool}"]}, OTC_AUTH_METHODS=["none"])

    assert len(app.test_client().get("/tools").json["items"]) == 4  # type: ignore[index]
    assert call(app, "Admin.Reset", headers={}).json == {"called": "Admin.Reset"}


def test_other_views_are_not_read_for_tools() -> None:
    app = tool_app({"*": ["tools:call:{tool}"]}, "tools:call")

    assert app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY}).status_code == 200


@pytest.mark.parametrize(("key", "value", "says"), [
    ("OTC_AUTH_TOOL_SCOPES", ["tools:call"], "must be a mapping"),
    ("OTC_AUTH_TOOL_SCOPES", {"Math.*": "math"}, 'the scopes of "Math.*" must be a list'),
    ("OTC_AUTH_TOOL_SCOPES", {"Math Add": ["math"]}, "tool pattern 'Math Add'"),
    ("OTC_AUTH_TOOL_SCOPES", {"Math.*": ["tools:call:*"]}, "wildcard"),
    ("OTC_AUTH_TOOL_SCOPES", {"Math.*": ["a b"]}, "is not a scope"),
    ("OTC_AUTH_TOOL_STEP_UP", {"Admin.*": {"acr": "phr"}}, '"acr_values" (a list)'),
    ("OTC_AUTH_TOOL_STEP_UP", {"Admin.*": {"acr_values": "phr"}}, "a list of acr values"),
    ("OTC_AUTH_TOOL_STEP_UP", {"Admin.*": {"max_age": -1}}, "max_age must be a whole number"),
    ("OTC_AUTH_TOOL_STEP_UP", {"Admin.*": {"acr_values": ['a "b']}}, "URI characters"),
])
def test_a_wrong_setting_is_refused_at_init_app_naming_the_key(key: str, value: Any,
                                                               says: str) -> None:
    app = Flask(__name__)
    app.config.update(base_config(**{key: value}))

    with pytest.raises(OTCAuthConfigError, match=key) as raised:
        OTCAuth(app)
    assert says in str(raised.value)


def test_a_wrong_declaration_is_refused_naming_the_call() -> None:
    with pytest.raises(OTCAuthConfigError, match=r'auth\.tool\("Math\.\*"\)'):
        OTCAuth().tool("Math.*", scopes=["has space"])

