"""The signed-listing rows: ``GET /tools`` of the example's four tools, unsigned and signed.

Signatures are cached per definition (by its RFC 8785 bytes), so a signed listing costs the
canonicalization of each item and a dictionary lookup, not an Ed25519 signature per item per
request; the third row changes a definition on every request, so each one is signed afresh,
which is what every request would cost without the cache.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from flask import Flask, jsonify

from example_app.tools import default_registry
from flask_otcauth import OTCAuth, require_auth

from .apps import API_KEY, Case, _constant, _flask


def listing_app(*, signed: bool, fresh: bool = False) -> Flask:
    app = _flask(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[API_KEY],
                 OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
                 OTC_AUTH_REQUIRE_HTTPS=False, OTC_AUTH_TOOL_SIGNING=signed,
                 TESTING=signed)  # TESTING: a generated key, which signs as a key file does
    auth = OTCAuth(app)
    registry = default_registry()
    counter = itertools.count()

    def list_tools() -> Any:
        items = registry.definitions()
        if fresh:  # a new description each request: no signature can be reused
            items[0]["description"] += f" ({next(counter)})"
        listing: dict[str, Any] = {"$schema": "urn:oxp:1.0", "items": items}
        if signed:
            listing["signatures"] = auth.sign_tool_definitions(items)
        return jsonify(listing)

    app.add_url_rule("/tool", view_func=require_auth(list_tools))
    return app


def listing_cases() -> Iterator[Case]:
    key = _constant({"OTC-API-Key": API_KEY})
    yield Case("listing, 4 tools, unsigned", lambda: listing_app(signed=False), key,
               group="listing")
    yield Case("listing, 4 tools, signed (cached)", lambda: listing_app(signed=True), key,
               group="listing")
    yield Case("listing, 4 tools, one signed afresh each request",
               lambda: listing_app(signed=True, fresh=True), key, group="listing")
