"""Credentials and request helpers for the example app's tests; plain code, importable anywhere.

The values are our own rather than the extension suite's, so either suite can change its
fixtures without breaking the other.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from flask_otcauth import hash_key

API_KEY = "example-app-test-key-" + "Hq3Vd" * 7
JWT_SECRET = "example-app-test-jwt-secret-" + "pW9sK" * 8
AUDIENCE = "otc-client"
ALL_TOOLS = ["tools:list", "tools:call:*"]
KEY_RECORD = {"id": "agent-key", "hash": hash_key(API_KEY), "scopes": ALL_TOOLS}
"""API_KEY's record: it may list and call every tool but the step-up one (Math.Evaluate)."""
TOOL_IDS = ["Math.Add@1.0.0", "Math.Divide@1.0.0", "Math.Evaluate@1.0.0", "Text.Stats@1.0.0",
            "Time.UtcNow@1.0.0"]
"""The example's tools, as its listing orders them."""
WITHOUT_STEP_UP = [tool for tool in TOOL_IDS if tool != "Math.Evaluate@1.0.0"]
"""What a credential that proves no user sign-in (an API key, a token without acr and
auth_time) is offered: Math.Evaluate needs an RFC 9470 step-up it can never give."""


def settings(**overrides: Any) -> dict[str, Any]:
    """A production-style configuration with both methods and no rate limits, plus overrides."""
    config: dict[str, Any] = {
        "TESTING": True,
        "OTC_AUTH_METHODS": ["jwt", "api_key"],
        "OTC_AUTH_API_KEYS": [KEY_RECORD],
        "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE],
        "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
    }
    config.update(overrides)
    return config


def mint(secret: str = JWT_SECRET, *, ttl: int = 300, **claims: Any) -> str:
    payload: dict[str, Any] = {"sub": "agent", "aud": AUDIENCE, "scope": " ".join(ALL_TOOLS),
                               "exp": int(time.time()) + ttl}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


def key_headers(key: str = API_KEY) -> dict[str, str]:
    return {"OTC-API-Key": key}


def call_body(
    tool_id: str, tool_input: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A ``POST /tools/call`` body; ``extra`` goes into ``request`` (call_id, trace_id, ...)."""
    request: dict[str, Any] = {"tool_id": tool_id, **extra}
    if tool_input is not None:
        request["input"] = tool_input
    return {"request": request}
