"""How a client sends a DPoP-bound token: a key of its own, a new proof per request.

Each function calls a URL of a server with ``OTC_AUTH_DPOP`` on; ``tests/docs/test_dpop_example.py``
runs them over a real socket, with a token bound to the key (``cnf.jkt``).
"""

from __future__ import annotations

from typing import Any

import httpx
import requests

from flask_otcauth.client import DPoPHttpxAuth, DPoPKey, DPoPRequestsAuth


def new_client_key() -> DPoPKey:
    """A new ES256 key; the authorization server binds tokens to ``key.thumbprint`` (it reads
    it from the proof of the token request, or from registration)."""
    return DPoPKey.generate("ES256")


def get_with_httpx(url: str, token: str, key: DPoPKey) -> dict[str, Any]:
    """``DPoPHttpxAuth`` adds ``Authorization: DPoP`` and a proof for each request, and sends
    a request again once with the server's nonce when it asks for one."""
    with httpx.Client(auth=DPoPHttpxAuth(token, key), timeout=10) as client:
        response = client.get(url)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def get_with_requests(url: str, token: str, key: DPoPKey) -> dict[str, Any]:
    """The same with requests: ``DPoPRequestsAuth``."""
    response = requests.get(url, auth=DPoPRequestsAuth(token, key), timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def proof_headers(method: str, url: str, token: str, key: DPoPKey) -> dict[str, str]:
    """For any other HTTP client: the two headers of one request."""
    return key.headers(method, url, token)
