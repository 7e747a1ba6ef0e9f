"""JWK thumbprints (RFC 7638) and the JWS algorithm a public JWK verifies with.

The signer names its key by thumbprint (``kid``), and the verifier recomputes it from the key
it was served: a key set that files a key under another key's ``kid`` is caught, not trusted.
Shared by the server (``flask_otcauth.core.tool_signing``) and the client's listing check.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from .jcs import canonicalize

__all__ = ["ALGORITHMS", "algorithm_of", "b64url", "jwk_thumbprint"]

# RFC 7638 section 3.2: the members a thumbprint covers, by key type.
_REQUIRED: Final = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"),
                    "RSA": ("e", "kty", "n"), "oct": ("k", "kty")}
ALGORITHMS: Final = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}
"""The signing keys a tool server may hold, by (``kty``, ``crv``), and their JWS ``alg``."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The base64url SHA-256 thumbprint of ``jwk`` (RFC 7638), or ``ValueError``.

    The required members in lexicographic order without whitespace are exactly their JCS
    form, as they are all strings (RFC 7638 section 3.3).
    """
    required = _REQUIRED.get(jwk.get("kty"))  # type: ignore[arg-type]
    if required is None:
        raise ValueError(f"unknown JWK key type {jwk.get('kty')!r}")
    missing = [member for member in required if not isinstance(jwk.get(member), str)]
    if missing:
        raise ValueError(f"the JWK lacks {', '.join(missing)}")
    return b64url(hashlib.sha256(canonicalize({member: jwk[member] for member in required}))
                  .digest())


def algorithm_of(jwk: Mapping[str, Any]) -> str:
    """The one JWS ``alg`` this public key verifies, or ``ValueError``: a signature's header
    never chooses it, so a key cannot be used with an algorithm it was not made for."""
    algorithm = ALGORITHMS.get((jwk.get("kty"), jwk.get("crv")))  # type: ignore[arg-type]
    if algorithm is None:
        raise ValueError("the key is neither Ed25519 (OKP) nor P-256 (EC)")
    if jwk.get("alg", algorithm) != algorithm:
        raise ValueError(f"the key says alg {jwk.get('alg')!r}, but a {jwk.get('crv')} key "
                         f"signs {algorithm}")
    return algorithm
