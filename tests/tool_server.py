"""A small signing tool server whose tools a test may change between two listings.

The rug pull is a server that changes what it lists; the tests drive exactly that, through
HTTP: list, change a definition, list again, and hand both listings to the client's check.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from flask_otcauth import OTCAuth

from .conftest import base_config

ADD: dict[str, Any] = {
    "id": "Math.Add@1.0.0", "name": "Add", "version": "1.0.0",
    "description": "Adds two numbers.",
    "input_schema": {"parameters": {"type": "object", "required": ["a", "b"],
                                    "properties": {"a": {"type": "number"},
                                                   "b": {"type": "number"}}}},
    "output_schema": {"type": "number"},
}
ECHO: dict[str, Any] = {
    "id": "Text.Echo@2.1.0", "name": "Echo", "version": "2.1.0",
    "description": "Says back what it hears: \u00e9\u20ac \U0001f600, limits 1e21 and 0.5.",
    "input_schema": {"parameters": {"type": "object", "properties": {
        "text": {"type": "string", "maxLength": 1000}}}},
    "output_schema": None,
    "requirements": {"secrets": [{"id": "ECHO_TOKEN"}], "user_id": True},
}


@dataclass
class ToolServer:
    """The app, its extension and the definitions ``GET /tools`` lists right now."""

    app: Flask
    auth: OTCAuth
    tools: list[dict[str, Any]] = field(default_factory=list)

    def listing(self) -> dict[str, Any]:
        response = self.app.test_client().get("/tools")
        assert response.status_code == 200, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body

    def keys(self) -> dict[str, Any]:
        response = self.app.test_client().get("/.well-known/otc-tool-keys.json")
        assert response.status_code == 200, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body

    def replace(self, tool_id: str, **changes: Any) -> None:
        """Change one listed definition in place, as a server being tampered with would."""
        for tool in self.tools:
            if tool["id"] == tool_id:
                tool.update(changes)


def tool_server(**overrides: Any) -> ToolServer:
    """A signing server; without authentication unless ``overrides`` say otherwise (the
    signature is the point here)."""
    app = Flask(__name__)
    app.config.update(base_config(**{"OTC_AUTH_METHODS": ["none"],
                                     "OTC_AUTH_TOOL_SIGNING": True, **overrides}))
    auth = OTCAuth(app)
    server = ToolServer(app, auth, [copy.deepcopy(ADD), copy.deepcopy(ECHO)])

    @app.get("/tools")
    def list_tools() -> dict[str, Any]:
        items = copy.deepcopy(server.tools)
        return {"$schema": "urn:oxp:1.0", "items": items,
                "signatures": auth.sign_tool_definitions(items)}

    return server
