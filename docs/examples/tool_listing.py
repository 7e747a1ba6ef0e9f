"""A platform's check of a tool server's signed listing, before its model sees any tool.

Pin the listing a person reviewed (store it); on every later listing, verify the signatures and
offer the model only the tools that are verified and not rug-pulled.
"""

from __future__ import annotations

from typing import Any

import httpx

from flask_otcauth.client import ToolListingReport, verify_tool_listing

KEYS_PATH = "/.well-known/otc-tool-keys.json"


def fetch_and_check(http: httpx.Client, api_key: str, pinned: dict[str, Any] | None = None
                    ) -> tuple[dict[str, Any], ToolListingReport]:
    """The listing and its report; raises ``ToolListingError`` when a signature fails.

    ``http`` has the server as its ``base_url``. The key set needs no credential.
    """
    listing: dict[str, Any] = http.get(
        "/tools", headers={"OTC-API-Key": api_key}).raise_for_status().json()
    keys = http.get(KEYS_PATH).raise_for_status().json()
    return listing, verify_tool_listing(listing, keys, pinned=pinned)


def tools_to_offer(listing: dict[str, Any], report: ToolListingReport) -> list[dict[str, Any]]:
    """The verified definitions, less those changed under an unchanged version."""
    held = set(report.rug_pulls)  # Toolkit.Name@version
    return [item for item in listing["items"]
            if f"{item['id'].partition('@')[0]}@{item['version']}" not in held]
