"""The example server's signed listing: spec-valid, verifiable, and per caller.

The OXP 1.0 OpenAPI document closes ToolDefinition (``additionalProperties: false``) but not
the listing around it, so the signatures stand beside the items; these tests hold the served
listing to that schema, to the real ``oxp`` client and to the client's check.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import httpx
import jsonschema
import oxp
import pytest
from flask import Flask

from example_app import create_app
from example_app.config import dev_signing_key_file, remove_dev_signing_key
from flask_otcauth import OTCAuthConfigError, hash_key
from flask_otcauth.client import verify_tool_listing

from .support import API_KEY, key_headers, mint, settings

KEYS_PATH: Final = "/.well-known/otc-tool-keys.json"
# OXP 1.0 OpenAPI (spec/http/1.0/openapi.json): the list-tools 200 body and ToolDefinition.
_TOOL_ID: Final = r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+(@([0-9]+|[0-9]+\.[0-9]+\.[0-9]+))?$"
OXP_LISTING_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/ToolDefinition"}}},
    "$defs": {"ToolDefinition": {
        "type": "object",
        "required": ["id", "name", "description", "version"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": _TOOL_ID},
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "description": {"type": "string"},
            "version": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
            "input_schema": {"type": "object", "additionalProperties": True},
            "output_schema": {"oneOf": [{"type": "object", "additionalProperties": True},
                                        {"type": "null"}]},
            "requirements": {"type": "object", "additionalProperties": True},
        },
    }},
}


@pytest.fixture
def signing_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(OTC_AUTH_TOOL_SIGNING=True)


def _listing(app: Flask, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = app.test_client().get("/tools", headers=headers or key_headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _keys(app: Flask) -> dict[str, Any]:
    body: dict[str, Any] = app.test_client().get(KEYS_PATH).get_json()
    return body


def test_every_listed_tool_carries_a_signature_that_verifies(signing_app: Flask) -> None:
    """RFC 7515 appendix F: one detached JWS per item, checked against the served key set."""
    listing = _listing(signing_app)

    report = verify_tool_listing(listing, _keys(signing_app))

    assert set(report.verified) == {item["id"] for item in listing["items"]}
    assert set(listing["signatures"]) == set(report.verified)


def test_the_signed_listing_is_valid_under_the_oxp_schema(signing_app: Flask) -> None:
    jsonschema.validate(_listing(signing_app), OXP_LISTING_SCHEMA)


def test_a_signature_inside_a_definition_would_break_the_oxp_schema(signing_app: Flask
                                                                    ) -> None:
    """Why the signatures stand beside the items: ToolDefinition admits no other member."""
    listing = _listing(signing_app)
    listing["items"][0]["signature"] = listing["signatures"][listing["items"][0]["id"]]

    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate(listing, OXP_LISTING_SCHEMA)


def test_the_oxp_client_parses_the_signed_listing(signing_app: Flask) -> None:
    http = httpx.Client(transport=httpx.WSGITransport(app=signing_app),
                        base_url="http://testserver")
    with http:
        tools = oxp.Oxp(bearer_token=mint(), base_url="http://testserver", http_client=http,
                        max_retries=0).tools.list()

    assert {item.id for item in tools.items} == set(tools.model_extra["signatures"])


def test_a_scoped_caller_gets_the_signatures_of_its_tools_only(make_app: Callable[..., Flask]
                                                               ) -> None:
    app = make_app(OTC_AUTH_TOOL_SIGNING=True, OTC_AUTH_API_KEYS=[{
        "id": "math", "hash": hash_key(API_KEY), "scopes": ["tools:list", "tools:call:Math.*"]}])

    listing = _listing(app)

    assert sorted(listing["signatures"]) == sorted(item["id"] for item in listing["items"])
    assert all(tool_id.startswith("Math.") for tool_id in listing["signatures"])


def test_without_signing_the_listing_has_no_signatures_and_no_keys(app: Flask) -> None:
    assert "signatures" not in _listing(app)
    assert app.test_client().get(KEYS_PATH).status_code == 404


def test_dev_mode_signs_with_a_generated_key(make_app: Callable[..., Flask]) -> None:
    app = make_app(TESTING=False, EXAMPLE_DEV_MODE=True, OTC_AUTH_TOOL_SIGNING=True)

    assert verify_tool_listing(_listing(app), _keys(app)).verified


def test_dev_mode_leaves_no_key_on_disk_once_started(make_app: Callable[..., Flask]) -> None:
    app = make_app(TESTING=False, EXAMPLE_DEV_MODE=True, OTC_AUTH_TOOL_SIGNING=True)

    assert not Path(app.config["OTC_AUTH_TOOL_SIGNING_KEY_FILE"]).parent.exists()


def test_the_dev_key_file_is_readable_by_its_user_alone() -> None:
    generated = dev_signing_key_file({"OTC_AUTH_TOOL_SIGNING": True})
    key_file = Path(generated["OTC_AUTH_TOOL_SIGNING_KEY_FILE"])
    try:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    finally:
        remove_dev_signing_key(generated)


def test_production_mode_without_a_key_file_refuses_to_start() -> None:
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_TOOL_SIGNING_KEY_FILE is not set"):
        create_app(settings(TESTING=False, OTC_AUTH_TOOL_SIGNING=True))


def test_the_environment_turns_signing_on(monkeypatch: pytest.MonkeyPatch,
                                          make_app: Callable[..., Flask]) -> None:
    """OTC_AUTH_TOOL_SIGNING=true in the shell, as docs/tool-signing.md shows it."""
    monkeypatch.setenv("OTC_AUTH_TOOL_SIGNING", "true")

    app = make_app()

    assert "signatures" in _listing(app)
