"""Apps whose callers carry access policies, a clock the tests set, and requests from chosen
client addresses: what every test of ``tests/policies`` shares."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Blueprint, Flask, request
from werkzeug.test import TestResponse

from flask_otcauth import OTCAuth, current_identity, require_auth

from ..conftest import base_config
from ..helpers import API_KEY, key_record

PolicyApp = Callable[..., Flask]


def build_policy_app(policy: dict[str, Any] | None = None, *, records: list[Any] | None = None,
                     **overrides: Any) -> Flask:
    """API key ``API_KEY`` as record ``ci-bot`` with ``policy``; JWT with audience
    ``otc-client``; views by endpoint name, by URL rule, the OXP call, and one in a blueprint.
    Limits off unless ``overrides`` turn them on."""
    record = key_record(API_KEY, **({"policy": policy} if policy is not None else {}))
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=records if records is not None else [record],
                                  **overrides))
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def list_tools() -> dict[str, Any]:
        return {"caller": current_identity.subject}

    @app.post("/tools/call")
    @require_auth
    def call_tool() -> tuple[dict[str, Any], int]:
        call = request.get_json(silent=True)  # the view's own read of the body
        if not isinstance(call, dict):
            return {"tool": None}, 400
        return {"tool": call["request"]["tool_id"], "bytes": len(request.get_data())}, 200

    @app.get("/items/<int:item_id>")
    @require_auth
    def item(item_id: int) -> dict[str, Any]:
        return {"item": item_id}

    admin = Blueprint("admin", __name__)

    @admin.get("/purge")
    @require_auth
    def purge() -> dict[str, Any]:
        return {"purged": True}

    app.register_blueprint(admin, url_prefix="/admin")
    return app


@pytest.fixture
def policy_app() -> PolicyApp:
    return build_policy_app


class Clock:
    """``time.time`` as the test sets it, in UTC or in a zone's local wall time."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def at(self, moment: str, zone: str = "UTC") -> None:
        """``moment`` ("2026-03-29 09:00") as a wall time in ``zone``."""
        local = datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo(zone))
        self.now = local.timestamp()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    controlled = Clock()
    monkeypatch.setattr(time, "time", controlled)
    return controlled


def get(app: Flask, path: str = "/tools", address: str | None = "10.0.0.1",
        headers: dict[str, str] | None = None) -> TestResponse:
    """A request with the API key from ``address`` (the connection's peer, REMOTE_ADDR)."""
    environ = {"REMOTE_ADDR": address} if address is not None else {}
    return app.test_client().get(path, headers=headers or {"OTC-API-Key": API_KEY},
                                 environ_base=environ)


def call(app: Flask, tool: str, address: str = "10.0.0.1", *, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> TestResponse:
    """The OXP ``POST /tools/call`` of ``tool`` with the API key."""
    data = body if body is not None else json.dumps(
        {"request": {"tool_id": tool, "input": {"a": 1, "b": 2}}}).encode()
    return app.test_client().post("/tools/call", data=data,
                                  headers={"OTC-API-Key": API_KEY,
                                           "Content-Type": "application/json",
                                           **(headers or {})},
                                  environ_base={"REMOTE_ADDR": address})
