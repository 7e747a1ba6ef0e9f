"""Fixtures for the example app's tests: a hermetic environment and a production-style app."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from example_app import create_app
from example_app.logs import route_to_stderr

from .support import call_body, key_headers, settings

CallTool = Callable[..., TestResponse]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """create_app reads OTC_AUTH_*, EXAMPLE_* and FLASK_DEBUG; keep a shell's values out."""
    for name in list(os.environ):
        if name.startswith(("OTC_AUTH_", "EXAMPLE_")) or name == "FLASK_DEBUG":
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _logs_routed_per_test() -> Iterator[None]:
    """create_app routes two process-wide loggers to stderr (EXAMPLE_LOG_REQUESTS); undone
    after each test, so no other test module finds ``flask_otcauth`` logging at INFO."""
    yield
    route_to_stderr(False)


@pytest.fixture
def app() -> Flask:
    """pytest-flask's app: the example server with both methods enabled and no rate limits."""
    return create_app(settings())


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    """An app with configuration overrides, for tests about one setting."""

    def build(**overrides: Any) -> Flask:
        return create_app(settings(**overrides))

    return build


@pytest.fixture
def call_tool(client: FlaskClient) -> CallTool:
    """POST a tool call authenticated with the API key."""

    def post(tool_id: str, tool_input: dict[str, Any] | None = None, **extra: Any) -> TestResponse:
        return client.post(
            "/tools/call", json=call_body(tool_id, tool_input, **extra), headers=key_headers()
        )

    return post
