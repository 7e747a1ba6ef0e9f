"""How a client sends each credential: requests, httpx and the OXP client.

Each function lists the tools of an OTC server at ``base_url``; the tests run them against the
quickstart server over a real socket.
"""

from __future__ import annotations

from typing import Any

import httpx
import oxp
import requests


def list_tools_with_requests(base_url: str, api_key: str) -> dict[str, Any]:
    """API key: the ``OTC-API-Key`` header on every request (HTTPS only outside localhost)."""
    response = requests.get(f"{base_url}/tools", headers={"OTC-API-Key": api_key}, timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def list_tools_with_httpx(base_url: str, token: str) -> dict[str, Any]:
    """JWT: ``Authorization: Bearer <token>``, set once on the client."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=10) as client:
        response = client.get("/tools")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def call_tool_with_oxp(base_url: str, token: str, name: str) -> Any:
    """The OXP client always sends its ``bearer_token`` as ``Authorization: Bearer``.

    So give it a JWT. (Its ``OXP_API_KEY`` environment variable also becomes a *bearer* token,
    which a server with ``jwt`` enabled verifies as a JWT and refuses.)
    """
    client = oxp.Oxp(bearer_token=token, base_url=base_url, max_retries=0)
    response = client.tools.call(request={"tool_id": "Hello.Greet", "input": {"name": name}})
    return response.result.value

