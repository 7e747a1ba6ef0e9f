"""Credentials and clients the tests share; plain functions so tests can import them."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone
from typing import Any

import jwt

JWT_SECRET = "test-jwt-secret-" + "x7Qp2" * 8
OLD_JWT_SECRET = "old-jwt-secret-" + "K9dLm" * 8
API_KEY = "test-api-key-" + "Zr4Tw" * 8
OTHER_API_KEY = "other-api-key-" + "Ba8Nc" * 8
AUDIENCE = "otc-client"


def make_token(secret: str = JWT_SECRET, *, ttl: float = 300, algorithm: str = "HS256",
               **claims: Any) -> str:
    """A token with exp ``ttl`` seconds ahead; pass ``exp=None`` to leave exp out."""
    payload: dict[str, Any] = {"exp": time.time() + ttl, **claims}
    if payload["exp"] is None:
        del payload["exp"]
    return jwt.encode(payload, secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_key(key: str = API_KEY, header: str = "OTC-API-Key") -> dict[str, str]:
    return {header: key}


HMAC_CLIENT = "tool-caller"
HMAC_SECRET = "test-hmac-secret-" + "Gh3Js" * 8
OLD_HMAC_SECRET = "old-hmac-secret-" + "Pq6Wx" * 8


def signed(method: str, path: str, body: bytes = b"", *, key_id: str = HMAC_CLIENT,
           secret: str = HMAC_SECRET, host: str = "localhost", **params: Any) -> dict[str, str]:
    """The signature headers our client makes for a request to ``http://{host}{path}``."""
    from flask_otcauth.client import sign_request  # noqa: PLC0415 - keeps helpers import-light

    return sign_request(method, f"http://{host}{path}", key_id=key_id, secret=secret, body=body,
                        **params)


def key_record(key: str = API_KEY, **fields: Any) -> dict[str, Any]:
    """An OTC_AUTH_API_KEYS record for ``key``, id ``ci-bot``, plus ``fields``."""
    return {"id": "ci-bot", "hash": "sha256:" + hashlib.sha256(key.encode()).hexdigest(),
            **fields}


def iso(seconds_from_now: float) -> str:
    """An ISO 8601 UTC time, as records write expires_at and not_before."""
    moment = datetime.fromtimestamp(time.time() + seconds_from_now, tz=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


class FakeClock:
    """A monotonic clock that moves only when a test moves it (``clock.now += 60``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
