"""An independent construction of RFC 9421 signatures, written from the RFC, not from our code.

The tests sign with ``flask_otcauth.client`` and also with this, so a mistake shared by our
signer and verifier (both built on one library) cannot pass unnoticed. Only what the profile
uses: derived components, plain header fields, and the string/integer parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit


def derived_component(name: str, method: str, url: str) -> str:
    """RFC 9421 section 2.2, for an absolute URL as written (already percent-encoded)."""
    parts = urlsplit(url)
    if name == "@method":
        return method.upper()
    if name == "@authority":
        host = (parts.hostname or "").lower()
        default = {"http": 80, "https": 443}[parts.scheme]
        return host if parts.port in (None, default) else f"{host}:{parts.port}"
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return "?" + parts.query
    raise ValueError(name)


def signature_params(components: list[str], params: list[tuple[str, str | int]]) -> str:
    """The ``@signature-params`` value: an inner list of strings with its parameters."""
    inner = "(" + " ".join(f'"{name}"' for name in components) + ")"
    for key, value in params:
        inner += f";{key}={value}" if isinstance(value, int) else f';{key}="{value}"'
    return inner


def signature_base(method: str, url: str, headers: dict[str, str], components: list[str],
                   params: list[tuple[str, str | int]]) -> bytes:
    """RFC 9421 section 2.5: one line per covered component, then ``@signature-params``."""
    lines = []
    lower_headers = {name.lower(): value.strip() for name, value in headers.items()}
    for name in components:
        value = (derived_component(name, method, url) if name.startswith("@")
                 else lower_headers[name])
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {signature_params(components, params)}')
    return "\n".join(lines).encode("ascii")


def content_digest(body: bytes) -> str:
    """RFC 9530: ``sha-256`` of the body as an RFC 8941 byte sequence."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def hmac_sha256(key: bytes, base: bytes) -> str:
    return base64.b64encode(hmac.new(key, base, hashlib.sha256).digest()).decode()


def sign(method: str, url: str, body: bytes, *, key_id: str, secret: str | bytes, created: int,
         nonce: str, label: str = "sig1",
         components: tuple[str, ...] = ("@method", "@authority", "@path", "@query",
                                        "content-digest"),
         alg: str = "hmac-sha256") -> dict[str, str]:
    """The three headers of a signed request, built by hand."""
    key = secret.encode() if isinstance(secret, str) else secret
    headers = {"Content-Digest": content_digest(body)}
    params: list[tuple[str, str | int]] = [("created", created), ("keyid", key_id),
                                           ("nonce", nonce), ("alg", alg)]
    base = signature_base(method, url, headers, list(components), params)
    headers["Signature-Input"] = f"{label}={signature_params(list(components), params)}"
    headers["Signature"] = f"{label}=:{hmac_sha256(key, base)}:"
    return headers
