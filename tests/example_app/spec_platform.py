"""The example server as a new user runs it, and what an OTC platform does with it.

Production mode (no dev mode, no ``TESTING``: HTTPS is required, the rate limits are on at
their defaults), configured only through the environment the README's table names:
``OTC_AUTH_JWT_SECRET``, ``OTC_AUTH_JWT_AUDIENCES`` and ``OTC_AUTH_API_KEYS`` with a plain key.
A platform knows nothing of our scopes (the OTC spec has none): it lists the tools and calls
each of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app import create_app

SECRET: Final = "spec-platform-jwt-secret-" + "Tq7Rv" * 8
PLAIN_KEY: Final = "spec-platform-plain-key-" + "Mz2Kx" * 8
AUDIENCE: Final = "my-agent-platform"
BASE_URL: Final = "https://tools.example"  # production mode refuses credentials over HTTP
README_ENVIRONMENT: Final = {
    "OTC_AUTH_JWT_SECRET": SECRET,
    "OTC_AUTH_JWT_AUDIENCES": json.dumps([AUDIENCE]),
    "OTC_AUTH_API_KEYS": json.dumps([PLAIN_KEY]),
}
# A valid call of every tool the example serves; a tool added without one here fails the test.
EVERY_TOOL: Final[dict[str, dict[str, Any]]] = {
    "Math.Add@1.0.0": {"a": 20, "b": 22},
    "Math.Divide@1.0.0": {"dividend": 1, "divisor": 4},
    "Text.Stats@1.0.0": {"text": "two words"},
    "Time.UtcNow@1.0.0": {"format": "unix"},
}


def production_app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    """``create_app()`` with nothing but the README's environment variables."""
    for name, value in README_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    assert not app.debug and not app.testing
    assert app.extensions["otcauth"].settings(app).require_https
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def key(value: str = PLAIN_KEY) -> dict[str, str]:
    return {"OTC-API-Key": value}


def list_tools(client: FlaskClient, headers: dict[str, str]) -> Any:
    response = client.get("/tools", headers=headers, base_url=BASE_URL)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def call_tool(client: FlaskClient, headers: dict[str, str], tool_id: str,
              tool_input: dict[str, Any]) -> Any:
    response = client.post("/tools/call", headers=headers, base_url=BASE_URL,
                           json={"request": {"tool_id": tool_id, "input": tool_input}})
    assert response.status_code == 200, (tool_id, response.get_json())
    return response.get_json()


def list_and_call_every_tool(client: FlaskClient,
                             headers: Callable[[], dict[str, str]]) -> list[bool]:
    """What a platform does first: list, then call each listed tool; each call's success.

    ``headers`` is asked before every request, as a platform mints a token per request.
    """
    listed = [item["id"] for item in list_tools(client, headers())["items"]]
    assert sorted(listed) == sorted(EVERY_TOOL)
    return [call_tool(client, headers(), tool_id, EVERY_TOOL[tool_id])["result"]["success"]
            for tool_id in listed]
