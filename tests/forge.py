"""Hand-made tokens: raw JSON text, any header, any signing key, for what PyJWT refuses to mint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from .helpers import JWT_SECRET

# Public keys are not secrets: the attack is a server that uses one as an HMAC secret.
RSA_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtcQMs2qeXouLnvdvsJlP
5OU5aVIhlHy2kXasWT5slTypEmvD39Kw4UZRH4XgQOX3Yw7vrC4F59r6veUNTTiG
Gxfw9YfW80t77EkcB12ru3K75i8KI3XZoY5hQTvfF3ojfC04xrNVABMzAml4Lvsy
aOmHko+1TnZRRTYqdaWyGkhBeDWxKc0vSY1e66BgtyvG+IPM3mJQL8zfZX1C4L8Q
KIZEnwiwKMMlo+BuZmZMtW2GolSNPktFLLi4g1wlIaUauOGppjYEqp2w/PJ0B+LU
TVopILCnGq3VZEBSEhyhkqELzVV/m8cE1Po4ZwFm7q3KkY47kxSUC08ckXAjAX5a
owIDAQAB
-----END PUBLIC KEY-----
"""
EC_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEA9fDgSeBWGe4FK/4GPnJwt2jzJe5
Hjdf7+ZV+I0s3Xvwg6A7eZEvvKr1WfP2pRzjHlphRMcV5JjMzDXVSj/2XA==
-----END PUBLIC KEY-----
"""
_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encoded_json(value: Any) -> bytes:
    """Bytes as given (raw JSON text, other encodings), anything else as compact JSON."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def signature(signing_input: str, key: str | bytes = JWT_SECRET, algorithm: str = "HS256") -> str:
    secret = key.encode("utf-8") if isinstance(key, str) else key
    return b64url(hmac.new(secret, signing_input.encode("ascii"), _DIGESTS[algorithm]).digest())


def forge(header: Any = None, claims: Any = None, *, key: str | bytes = JWT_SECRET,
          algorithm: str = "HS256") -> str:
    """A token HMAC-signed over exactly the given header and claims (default: a valid token)."""
    if header is None:
        header = {"alg": "HS256", "typ": "JWT"}
    if claims is None:
        claims = valid_claims()
    signing_input = b64url(encoded_json(header)) + "." + b64url(encoded_json(claims))
    return signing_input + "." + signature(signing_input, key, algorithm)


def valid_claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "client-a", "exp": int(time.time()) + 300, **extra}


def raw_claims(members: str) -> str:
    """A claims object as raw JSON text with a valid exp first, e.g. '"sub":"a","sub":"b"'."""
    return '{"exp":' + str(int(time.time()) + 300) + "," + members + "}"
