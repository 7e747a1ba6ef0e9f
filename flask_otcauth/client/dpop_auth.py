"""DPoP as ``httpx`` and ``requests`` authentication classes, answering one nonce challenge.

Imported on first use of either name from :mod:`flask_otcauth.client`, so a caller that only
makes proofs with :class:`~.dpop.DPoPKey` needs neither library. A server that wants nonces
answers the first request 401 ``use_dpop_nonce`` with a ``DPoP-Nonce`` header (RFC 9449
section 9): the request is sent again once, with a new proof carrying that nonce; a second
refusal is the caller's to read. Nonces that come with accepted answers are kept for the next
proof.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx
import requests

from .dpop import DPoPKey

__all__ = ["DPoPHttpxAuth", "DPoPRequestsAuth"]


class DPoPHttpxAuth(httpx.Auth):
    """``Authorization: DPoP <token>`` and a new proof on every request of an ``httpx``
    client (sync or async)."""

    def __init__(self, access_token: str, key: DPoPKey) -> None:
        self._token = access_token
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._key.headers(request.method, str(request.url), self._token))
        response = yield request
        if self._key.asked_for_nonce(response.status_code, response.headers):
            request.headers.update(self._key.headers(request.method, str(request.url),
                                                     self._token))
            yield request


class DPoPRequestsAuth(requests.auth.AuthBase):
    """``Authorization: DPoP <token>`` and a new proof on every request of a ``requests``
    session; a ``use_dpop_nonce`` answer is retried once through the same connection."""

    def __init__(self, access_token: str, key: DPoPKey) -> None:
        self._token = access_token
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self._key.headers(str(request.method), str(request.url),
                                                 self._token))
        request.register_hook("response", self._retry_with_nonce)  # type: ignore[no-untyped-call]
        return request

    def _retry_with_nonce(self, response: requests.Response, **options: Any
                          ) -> requests.Response:
        if not self._key.asked_for_nonce(response.status_code, response.headers):
            return response
        retry = response.request.copy()
        retry.hooks = {"response": []}  # once: a second refusal is returned as it is
        retry.headers.update(self._key.headers(str(retry.method), str(retry.url), self._token))
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        connection = response.connection
        retried: requests.Response = connection.send(retry, **options)
        retried.history.append(response)
        retried.request = retry
        return retried
