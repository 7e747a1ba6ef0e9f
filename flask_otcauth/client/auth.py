"""The signing profile as ``httpx`` and ``requests`` authentication classes.

Imported on first use of either name from :mod:`flask_otcauth.client`, so that a caller that
only calls ``sign_request`` needs neither library (``pip install 'flask-otcauth[client]'``
brings both).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
import requests

from .signing import sign_request

__all__ = ["HttpxAuth", "RequestsAuth"]


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
