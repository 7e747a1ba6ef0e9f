"""Credentials and clients the tests share, and what every test asserts of a refusal; plain
functions so tests can import them."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import jwt

from flask_otcauth import require_auth

if TYPE_CHECKING:
    from flask import Flask

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


RUN_NAMESPACE = f"otcauth-test-{secrets.token_hex(6)}"
"""This run's OTC_AUTH_STORAGE_NAMESPACE: every app of the run writes its Redis keys under it."""


def settle_nonce_store(redis_url: str, namespace: str = RUN_NAMESPACE) -> None:
    """The nonce store of a Redis that has served for a while: it remembers every use since long
    ago. A new or flushed one refuses signatures created before its first use (+ leeway), so
    a test that flushes Redis and expects its first signed request to pass settles it first.
    Through the library's own claim, at time 0: no key layout is repeated here."""
    from flask_otcauth.core.storage import open_storage  # noqa: PLC0415 - the redis extra

    open_storage(redis_url, namespace=namespace + ":").spend_nonce("settled", 1, valid_from=0.0,
                                                                    now=0.0)


def key_record(key: str = API_KEY, **fields: Any) -> dict[str, Any]:
    """An OTC_AUTH_API_KEYS record for ``key``, id ``ci-bot``, plus ``fields``."""
    return {"id": "ci-bot", "hash": "sha256:" + hashlib.sha256(key.encode()).hexdigest(),
            **fields}


def with_admin_view(app: Flask) -> Flask:
    """``app`` with ``GET /admin``, a view asking for the scope ``admin``, which the tests'
    credentials lack: a verified caller refused 403 ``insufficient_scope``."""

    @app.get("/admin")
    @require_auth(scopes=["admin"])
    def admin() -> dict[str, str]:
        return {"admin": "yes"}

    return app


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


# Refusals ----------------------------------------------------------------------------------

REFUSAL_KEYS = frozenset({"error", "message", "developer_message"})
# Shorter strings are too likely to occur by chance in a JSON body to count as an echo.
MIN_CREDENTIAL_LENGTH = 12


def scope_challenge(scope: str) -> str:
    """The one challenge of a 403 insufficient_scope naming ``scope``."""
    return f'Bearer realm="otc", error="insufficient_scope", scope="{scope}"'


def assert_refused(
    response: Any, status: int, error: str, *,
    hint: str | None = None,
    body: dict[str, Any] | None = None,
    challenges: Sequence[str] | None = None,
    challenge_prefixes: Iterable[str] | None = None,
    retry_after: tuple[int, int] | None = None,
    presented: str | None = None,
) -> dict[str, Any]:
    """A refusal of ours, from a werkzeug ``TestResponse`` or an ``httpx.Response``; its body.

    Always: the ``status``, a JSON body of exactly error, message and developer_message with
    error ``error``, and ``Cache-Control: no-store``. As asked: ``hint`` is in the
    developer_message; the body is exactly ``body``; the WWW-Authenticate values are exactly
    ``challenges`` (``[]``: none at all); each of ``challenge_prefixes`` begins one of them;
    Retry-After is an integer within ``retry_after`` (low, high); nothing of the credential
    ``presented`` is in the headers or the body. WWW-Authenticate is checked only as asked.
    """
    assert response.status_code == status, _body_text(response)
    sent = response.json() if callable(response.json) else response.json
    assert isinstance(sent, dict), _body_text(response)
    assert set(sent) == REFUSAL_KEYS, sent
    assert sent["error"] == error, sent
    assert response.headers.get("Cache-Control") == "no-store"
    if hint is not None:
        assert hint in sent["developer_message"], (hint, sent["developer_message"])
    if body is not None:
        assert sent == body
    _assert_challenges(header_values(response, "WWW-Authenticate"), challenges,
                       challenge_prefixes)
    if retry_after is not None:
        low, high = retry_after
        value = response.headers.get("Retry-After", "")
        assert value.isdigit(), value
        assert low <= int(value) <= high, (value, retry_after)
    if presented is not None:
        assert not leaks([response_text(response)], credential_parts(presented))
    return sent


def _assert_challenges(sent: list[str], challenges: Sequence[str] | None,
                       prefixes: Iterable[str] | None) -> None:
    if challenges is not None:
        assert sent == list(challenges)
    for expected in prefixes or ():
        assert any(challenge.startswith(expected) for challenge in sent), (expected, sent)


def header_values(response: Any, name: str) -> list[str]:
    """Every value of header ``name``, from werkzeug's headers or httpx's."""
    headers = response.headers
    values: list[str] = (headers.get_list(name) if hasattr(headers, "get_list")
                         else headers.getlist(name))
    return values


def _body_text(response: Any) -> str:
    text: str = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    return text


def response_text(response: Any) -> str:
    """The headers and the body of a response, as one text to search for a secret."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers + "\n\n" + str(_body_text(response))


def credential_parts(value: str) -> set[str]:
    """The secret pieces of a credential header: the value, its token, a JWT's signature."""
    parts = {value}
    for piece in value.split(","):
        token = piece.strip().rpartition(" ")[2]
        parts.update({token, token.rpartition(".")[2]})
    return {part for part in parts if len(part) >= MIN_CREDENTIAL_LENGTH}


def leaks(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Each secret that occurs in one of the texts, by its first characters only."""
    found = []
    materialized = list(texts)
    for secret in secrets:
        if any(secret in text for text in materialized):
            found.append(secret[:6] + "...")
    return found
