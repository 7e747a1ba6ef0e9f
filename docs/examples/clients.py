"""How a client sends each credential: requests, httpx and the OXP client.

Each function calls an OTC server at ``base_url``; the tests run them over a real socket,
against the quickstart server (keys and tokens, ``jwt`` and ``api_key`` enabled) and the
example server with ``api_key`` and ``hmac`` enabled (the OXP client with a key, and signed
requests).
"""

from __future__ import annotations

from typing import Any

import httpx
import oxp
import requests

from flask_otcauth.client import HttpxAuth, RequestsAuth

# The OXP client will not start without a bearer token, and sends it with every request; where
# the credential is something else, give it this one and leave the header out with oxp.Omit().
PLACEHOLDER_BEARER = "unused"
NO_BEARER = {"Authorization": oxp.Omit()}


def list_tools_with_requests_and_key(base_url: str, api_key: str) -> dict[str, Any]:
    """API key: the ``OTC-API-Key`` header on every request (HTTPS only outside localhost)."""
    response = requests.get(f"{base_url}/tools", headers={"OTC-API-Key": api_key}, timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def list_tools_with_requests_and_token(base_url: str, token: str) -> dict[str, Any]:
    """JWT: ``Authorization: Bearer <token>``, set once on a session for every request."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        response = session.get(f"{base_url}/tools", timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def list_tools_with_httpx_and_key(base_url: str, api_key: str) -> dict[str, Any]:
    """API key with httpx: the ``OTC-API-Key`` header, set once on the client."""
    with httpx.Client(base_url=base_url, headers={"OTC-API-Key": api_key}, timeout=10) as client:
        response = client.get("/tools")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def list_tools_with_httpx_and_token(base_url: str, token: str) -> dict[str, Any]:
    """JWT: ``Authorization: Bearer <token>``, set once on the client."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=10) as client:
        response = client.get("/tools")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def call_tool_with_oxp_and_token(base_url: str, token: str, name: str) -> Any:
    """The OXP client always sends its ``bearer_token`` as ``Authorization: Bearer``.

    So give it a JWT. (Its ``OXP_API_KEY`` environment variable also becomes a *bearer* token,
    which a server with ``jwt`` enabled verifies as a JWT and refuses.)
    """
    client = oxp.Oxp(bearer_token=token, base_url=base_url, max_retries=0)
    response = client.tools.call(request={"tool_id": "Hello.Greet", "input": {"name": name}})
    return response.result.value


def call_tool_with_oxp_and_key(base_url: str, api_key: str,
                               tool_id: str, tool_input: dict[str, Any]) -> Any:
    """An API key with the OXP client: the key as a default header, and no bearer token.

    The client insists on a bearer token and sends it in ``Authorization`` with every
    request; a server that enables ``jwt`` verifies it as a JWT and refuses the request,
    however valid the key. ``oxp.Omit()`` in ``extra_headers`` leaves the header out.
    """
    client = oxp.Oxp(bearer_token=PLACEHOLDER_BEARER, base_url=base_url, max_retries=0,
                     default_headers={"OTC-API-Key": api_key})
    response = client.tools.call(request={"tool_id": tool_id, "input": tool_input},
                                 extra_headers={"Authorization": oxp.Omit()})
    return response.result.value


def call_tool_signed_with_httpx(base_url: str, client_id: str, secret: str,
                                tool_id: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    """HMAC signing: ``HttpxAuth`` signs every request just before it is sent (RFC 9421)."""
    with httpx.Client(base_url=base_url, auth=HttpxAuth(client_id, secret), timeout=10) as client:
        response = client.post("/tools/call",
                               json={"request": {"tool_id": tool_id, "input": tool_input}})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def list_tools_signed_with_requests(base_url: str, client_id: str, secret: str) -> list[str]:
    """HMAC signing with requests: ``RequestsAuth`` adds the three signature headers."""
    response = requests.get(f"{base_url}/tools", auth=RequestsAuth(client_id, secret), timeout=10)
    response.raise_for_status()
    return [tool["id"] for tool in response.json()["items"]]


def call_tool_signed_with_oxp(base_url: str, client_id: str, secret: str,
                              tool_id: str, tool_input: dict[str, Any]) -> Any:
    """HMAC signing with the OXP client: it accepts an httpx client, so give it one that signs.

    ``oxp.Omit()`` as a default header leaves the placeholder bearer token out of every
    request, so a server that enables ``jwt`` too does not refuse it.
    """
    with httpx.Client(auth=HttpxAuth(client_id, secret), timeout=10) as signing:
        client = oxp.Oxp(bearer_token=PLACEHOLDER_BEARER, base_url=base_url, max_retries=0,
                         http_client=signing, default_headers=NO_BEARER)
        response = client.tools.call(request={"tool_id": tool_id, "input": tool_input})
        return response.result.value
