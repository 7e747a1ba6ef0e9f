"""Signing requests for an hmac-protected server, so callers never hand-write the profile.

``sign_request`` returns the three headers to add (``Content-Digest``, ``Signature-Input``,
``Signature``); :class:`HttpxAuth` and :class:`RequestsAuth` add them to every request of an
``httpx`` or ``requests`` client (``pip install 'flask-otcauth[client]'``)::

    httpx.post(url, json=payload, auth=HttpxAuth("my-client", secret))
    requests.post(url, json=payload, auth=RequestsAuth("my-client", secret))
"""

from __future__ import annotations

import datetime
import secrets as _secrets
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Final

import httpx
import requests
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from .schemes.hmac import LABEL

__all__ = ["HttpxAuth", "RequestsAuth", "sign_request"]

# content-digest is added by the signer itself, as the last covered component.
_COVERED: Final = ("@method", "@authority", "@path", "@query")
_SIGNATURE_HEADERS: Final = ("Content-Digest", "Signature-Input", "Signature")


@dataclass(frozen=True, slots=True)
class _Message:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def sign_request(
    method: str,
    url: str,
    *,
    key_id: str,
    secret: str | bytes,
    body: bytes = b"",
    created: int | None = None,
    nonce: str | None = None,
    label: str = LABEL,
) -> dict[str, str]:
    """The signature headers for one request; send ``body`` byte for byte as signed.

    ``url`` is the absolute, percent-encoded URL the request goes to. ``created`` (seconds
    since the epoch) defaults to now and ``nonce`` to 128 random bits: sign each request just
    before sending it, and never reuse the headers.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    )
    message = _Message(method.upper(), url)
    signer.sign(
        message,
        key_id=key_id,
        created=datetime.datetime.fromtimestamp(
            created if created is not None else int(time.time()),
            tz=datetime.timezone.utc),
        nonce=nonce if nonce is not None else _secrets.token_urlsafe(16),
        label=label,
        covered_component_ids=_COVERED,
        body=body,
    )
    return {name: message.headers[name] for name in _SIGNATURE_HEADERS}


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
