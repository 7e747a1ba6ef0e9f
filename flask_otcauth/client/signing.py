"""Signing one request in the hmac profile; free of Flask, of the server and of any HTTP client.

:mod:`flask_otcauth.client` adapts it to ``httpx`` and ``requests``; the pytest plugin uses it
to sign test-client requests. Both produce exactly what
:mod:`flask_otcauth.core.methods.hmac_scheme` verifies.
"""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass, field
from typing import Final

from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

LABEL: Final = "otc"
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
            created if created is not None else int(time.time()), tz=datetime.timezone.utc),
        nonce=nonce if nonce is not None else secrets.token_urlsafe(16),
        label=label,
        covered_component_ids=_COVERED,
        body=body,
    )
    return {name: message.headers[name] for name in _SIGNATURE_HEADERS}
