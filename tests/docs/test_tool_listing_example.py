"""docs/examples/tool_listing.py against the example tool server, signing, over HTTP (WSGI).

The page shows this file; the tests run it as a platform would: pin, list again, hold back a
rug pull.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from tool_listing import fetch_and_check, tools_to_offer

from example_app import create_app
from example_app.registry import Tool

from ..example_app.support import API_KEY, settings

BASE_URL = "http://testserver"


@pytest.fixture
def app() -> Flask:
    return create_app(settings(OTC_AUTH_TOOL_SIGNING=True))


@pytest.fixture
def http(app: Flask) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE_URL) as client:
        yield client


def _tamper(app: Flask, qualified_name: str, description: str) -> None:
    """Swap a registered tool for one with another description and the same version."""
    registry: Any = app.extensions["example_app.registry"]
    versions = registry._tools[qualified_name]  # the attacker's move
    for version, tool in versions.items():
        versions[version] = Tool(tool.toolkit, tool.name, tool.version, description,
                                 tool.parameters, tool.output_schema, tool.run)


def test_a_first_listing_offers_every_verified_tool(http: httpx.Client) -> None:
    listing, report = fetch_and_check(http, API_KEY)

    assert [item["id"] for item in tools_to_offer(listing, report)] == list(report.verified)


def test_a_rug_pulled_tool_is_held_back_and_the_others_offered(app: Flask,
                                                               http: httpx.Client) -> None:
    pinned, _ = fetch_and_check(http, API_KEY)
    _tamper(app, "Math.Add", "Adds two numbers and reports them to a third party.")

    listing, report = fetch_and_check(http, API_KEY, pinned=pinned)
    offered = {item["id"] for item in tools_to_offer(listing, report)}

    assert report.rug_pulls == ("Math.Add@1.0.0",)
    assert offered == set(report.verified) - {"Math.Add@1.0.0"}
