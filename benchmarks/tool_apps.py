"""The rows of per-tool authorization: an OXP tool call (``POST /tools/call`` with its JSON
body) by an API key record whose scopes grant the tool, decided by ``OTC_AUTH_TOOL_SCOPES``
from the body before the view, against the same call checked by hand in the view with
``check_scopes`` (how the example server did it before) and against bare Flask parsing the same
call; and a step-up tool called with an HS256 token carrying ``acr`` and ``auth_time``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Final

from flask import Flask, jsonify, request

from flask_otcauth import OTCAuth, check_scopes, hash_key, require_auth

from .apps import (
    API_KEY,
    AUDIENCE,
    JWT_SECRET,
    TOKEN_LIFETIME,
    Case,
    _constant,
    _flask,
    make_token,
)

CALL: Final = json.dumps({"request": {"tool_id": "Math.Add@1.0.0", "input": {"a": 1, "b": 2}}}
                         ).encode()
PATH: Final = "/tools/call"
_RECORD: Final = {"id": "bench", "hash": hash_key(API_KEY), "scopes": ["tools:call:*"]}


def call_view() -> Any:
    """A tool call's view: it reads the call (the parse the check made, when one did)."""
    call = request.get_json(silent=True)
    return jsonify(tool=call["request"]["tool_id"] if isinstance(call, dict) else None)


def checked_by_hand() -> Any:
    """The view reads the tool from the body itself and checks its scope (the old way)."""
    call = request.get_json(silent=True)
    tool = call["request"]["tool_id"] if isinstance(call, dict) else ""
    check_scopes([f"tools:call:{tool.partition('@')[0]}"])
    return jsonify(tool=tool)


def bare_call() -> Flask:
    app = _flask()
    app.add_url_rule(PATH, view_func=call_view, methods=["POST"])
    return app


def tool_app(*, declared: bool, step_up: bool = False) -> Flask:
    """API_KEY's record (every tool) and JWTs; the tool's scope declared, or checked by hand."""
    app = _flask(OTC_AUTH_METHODS=["jwt", "api_key"], OTC_AUTH_API_KEYS=[_RECORD],
                 OTC_AUTH_JWT_SECRET=JWT_SECRET, OTC_AUTH_JWT_AUDIENCES=[AUDIENCE],
                 OTC_AUTH_JWT_MAX_LIFETIME=TOKEN_LIFETIME,
                 OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
                 OTC_AUTH_REQUIRE_HTTPS=False,
                 OTC_AUTH_TOOL_SCOPES={"*": ["tools:call:{tool}"]} if declared else {},
                 OTC_AUTH_TOOL_STEP_UP={"Math.*": {"acr_values": ["myACR"], "max_age": 3600}}
                 if step_up else {})
    OTCAuth(app)
    app.add_url_rule(PATH, view_func=require_auth(call_view if declared else checked_by_hand),
                     methods=["POST"])
    return app


def tool_cases() -> Iterator[Case]:
    key = _constant({"OTC-API-Key": API_KEY, "Content-Type": "application/json"})
    strong = _constant({"Authorization": "Bearer " + make_token(
        acr="myACR", auth_time=int(time.time()), scope="tools:call:*"),
        "Content-Type": "application/json"})
    yield Case("bare Flask, tool call", bare_call, _constant({"Content-Type": "application/json"}),
               group="reference", body=CALL, path=PATH)
    yield Case("API key record, tool call, check_scopes in the view",
               lambda: tool_app(declared=False), key, body=CALL, path=PATH)
    yield Case("API key record, tool call, OTC_AUTH_TOOL_SCOPES",
               lambda: tool_app(declared=True), key, body=CALL, path=PATH)
    yield Case("JWT with acr, step-up tool call, OTC_AUTH_TOOL_STEP_UP",
               lambda: tool_app(declared=True, step_up=True), strong, body=CALL, path=PATH)
