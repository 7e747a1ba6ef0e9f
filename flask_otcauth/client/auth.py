"""The signing profile and DPoP as ``httpx`` and ``requests`` authentication classes.

Imported on first use of one of these names from :mod:`flask_otcauth.client`, so that a caller
that only calls ``sign_request`` or makes proofs with :class:`~.dpop.DPoPKey` needs neither
library (``pip install 'flask-otcauth[client]'`` brings both).

The DPoP classes answer one nonce challenge: a server that wants nonces answers the first
request 401 ``use_dpop_nonce`` with a ``DPoP-Nonce`` header (RFC 9449 section 9), and the
request is sent again once, with a new proof carrying that nonce; a second refusal is the
caller's to read. Nonces that come with accepted answers are kept for the next proof.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx
import requests

from .dpop import DPoPKey
from .signing import sign_request

__all__ = ["DPoPHttpxAuth", "DPoPRequestsAuth", "HttpxAuth", "RequestsAuth"]


class HttpxAuth(httpx.Auth):
    """Signs every request of an ``httpx`` client (sync or async) as client ``key_id``."""

    requires_request_body = True

    def __init__(self, key_id: str, secret: str | bytes) -> None:
        self._key_id = key_id
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(sign_request(request.method, str(request.url), key_id=self._key_id,
                                            secret=self._secret, body=request.content))
        yield request


class RequestsAuth(requests.auth.AuthBase):
    """Signs every request of a ``requests`` session as client ``key_id``."""

    def __init__(self, key_id: str, secret: str | bytes) -> None:
        self._key_id = key_id
        self._secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")  # what requests sends for a str body
        if body is not None and not isinstance(body, bytes):
            raise TypeError("RequestsAuth signs bodies known in advance (bytes, str, json=, "
                            "data=); a streamed body cannot be digested before it is sent.")
        request.headers.update(sign_request(str(request.method), str(request.url),
                                            key_id=self._key_id, secret=self._secret,
                                            body=body or b""))
        return request


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
