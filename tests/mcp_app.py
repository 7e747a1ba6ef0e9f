"""A minimal MCP endpoint (streamable HTTP, JSON answers, no sessions) behind flask_otcauth's oauth.

An OTC tool server does not speak MCP's JSON-RPC, so a scanner of MCP servers stops at its
``initialize``; this app answers just enough of MCP (``initialize``, ``tools/list``,
``tools/call``, ``ping``, notifications) for mcp-authlab's checks that need a working session
(the query-string token, the scope step-up) to reach the authentication in front of it. Run
as ``gunicorn 'tests.mcp_app:create_app()'``; ``OTC_AUTH_*`` variables hold JSON.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from flask_otcauth import OTCAuth, check_scopes, require_auth

LIST_SCOPE: Final = "tools:list"
TOOL: Final = {"name": "list_numbers", "description": "Lists the numbers one to three.",
               "inputSchema": {"type": "object", "properties": {}},
               "annotations": {"readOnlyHint": True}}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping({name: json.loads(value) for name, value in os.environ.items()
                             if name.startswith("OTC_AUTH_")})
    OTCAuth(app)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/mcp")
    @require_auth(scopes=[LIST_SCOPE])  # the scope a 401 names: what a session needs first
    def mcp() -> ResponseReturnValue:
        message = request.get_json(silent=True)
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return jsonify(jsonrpc="2.0", id=None,
                           error={"code": -32600, "message": "Invalid Request"}), 400
        if "id" not in message:
            return "", 202  # a notification: accepted, no answer
        return jsonify(jsonrpc="2.0", id=message["id"], result=_result(message))

    return app


def _result(message: dict[str, Any]) -> dict[str, Any]:
    method, params = message["method"], message.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion"), "capabilities": {"tools": {}},
                "serverInfo": {"name": "otcauth-mcp-test", "version": "0"}}
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call":
        check_scopes([f"tools:call:{params.get('name')}"])  # 403 insufficient_scope, named
        return {"content": [{"type": "text", "text": "1 2 3"}], "isError": False}
    return {}  # ping, and anything else this test endpoint does not model
