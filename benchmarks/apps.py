"""The apps a benchmark run compares: flask-otcauth settings and the hand-written or third-party
ways people protect a Flask route today, each serving the same tiny tool-call-like view.

Each :class:`Case` pairs an app with the headers of its requests and the status every request
must get, so a run also proves it measured what it says (a 401 is not a fast 200).
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask, g, jsonify, request
from flask_httpauth import HTTPTokenAuth
from flask_jwt_extended import JWTManager, jwt_required
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from flask_otcauth import OTCAuth, hash_key, require_auth

JWT_SECRET = "bench-jwt-secret-" + "Hq3Vx" * 8
API_KEY = "bench-api-key-" + "Lp7Rw" * 8
AUDIENCE = "bench-client"
# Limits high enough never to refuse a benchmark, so each request pays the full counting cost.
BIG_LIMIT = "100000000/minute"
REDIS_URL = os.environ.get("OTCAUTH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
# Tokens are minted once, before timing; a full run takes longer than the spec's 15 minutes,
# so the benchmark apps allow a longer lifetime (checking it costs the same).
TOKEN_LIFETIME = 3 * 3600

Headers = dict[str, str]
View = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    """One configuration: an app, the headers of request ``i``, and the status it must get."""

    name: str
    build: Callable[[], Flask]
    headers: Callable[[int], Headers]
    status: int = 200
    needs_redis: bool = False
    group: str = "otcauth"
    body: bytes | None = None  # sent as a POST to ``path`` (a tool call); None: GET /tool
    path: str = "/tool"


def tool_view() -> Any:
    """What every app serves: a small JSON answer, like a tool listing or a cheap tool call."""
    return jsonify(result="ok")


def make_token(**claims: Any) -> str:
    payload = {"sub": "agent-1", "aud": AUDIENCE, "exp": int(time.time()) + TOKEN_LIFETIME,
               **claims}
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


class TokenPool:
    """Distinct valid tokens, minted before timing so minting is not measured.

    With more tokens than any verified-token cache holds, every request is a miss.
    """

    def __init__(self, size: int) -> None:
        self._tokens = [make_token(jti=str(index)) for index in range(size)]

    def headers(self, index: int) -> Headers:
        return {"Authorization": "Bearer " + self._tokens[index % len(self._tokens)]}


def _flask(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


def bare() -> Flask:
    app = _flask()
    app.add_url_rule("/tool", view_func=tool_view)
    return app


def otcauth_app(*, methods: list[str], limits: bool = False, storage: str | None = None,
                revocation: bool = False) -> Flask:
    app = _flask(
        OTC_AUTH_REVOCATION=revocation,
        OTC_AUTH_STORAGE_URI=storage if revocation else None,
        OTC_AUTH_METHODS=methods,
        OTC_AUTH_JWT_SECRET=JWT_SECRET,
        OTC_AUTH_JWT_AUDIENCES=[AUDIENCE],
        OTC_AUTH_API_KEYS=[API_KEY],
        OTC_AUTH_RATELIMIT=BIG_LIMIT if limits else None,
        OTC_AUTH_FAILURE_RATELIMIT=BIG_LIMIT if limits else None,
        OTC_AUTH_RATELIMIT_STORAGE_URI=storage,
        OTC_AUTH_JWT_MAX_LIFETIME=TOKEN_LIFETIME,
        # Plain HTTP on 127.0.0.1 (test client and wrk): TLS is the proxy's cost, not ours.
        OTC_AUTH_REQUIRE_HTTPS=False,
    )
    OTCAuth(app)
    app.add_url_rule("/tool", view_func=require_auth(tool_view))
    return app


def handwritten_api_key() -> Flask:
    app = _flask()
    expected = API_KEY.encode()

    def check(view: View) -> View:
        @functools.wraps(view)
        def guarded() -> Any:
            presented = request.headers.get("OTC-API-Key", "").encode()
            if not hmac.compare_digest(presented, expected):
                return jsonify(error="invalid_api_key"), 401
            return view()
        return guarded

    app.add_url_rule("/tool", view_func=check(tool_view))
    return app


def handwritten_pyjwt(limiter_storage: str | None = None) -> Flask:
    """The decorator people write with PyJWT; optionally Flask-Limiter keyed by ``sub``."""
    app = _flask()

    def check(view: View) -> View:
        @functools.wraps(view)
        def guarded() -> Any:
            header = request.headers.get("Authorization", "")
            try:
                claims = jwt.decode(header.removeprefix("Bearer "), JWT_SECRET,
                                    algorithms=["HS256"], audience=AUDIENCE)
            except jwt.PyJWTError:
                return jsonify(error="invalid_token"), 401
            g.bench_sub = claims["sub"]
            return view()
        return guarded

    view: View = tool_view
    if limiter_storage is not None:
        limiter = Limiter(lambda: g.bench_sub, app=app, storage_uri=limiter_storage)
        view = limiter.limit(BIG_LIMIT)(view)
    app.add_url_rule("/tool", view_func=check(view))
    return app


def flask_limiter_only(storage: str) -> Flask:
    app = _flask()
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage)
    app.add_url_rule("/tool", view_func=limiter.limit(BIG_LIMIT)(tool_view))
    return app


def limits_direct() -> Flask:
    """The ``limits`` strategy Flask-Limiter wraps, called from a plain decorator."""
    app = _flask()
    strategy = FixedWindowRateLimiter(MemoryStorage())
    item = parse(BIG_LIMIT)

    def check(view: View) -> View:
        @functools.wraps(view)
        def limited() -> Any:
            if not strategy.hit(item, "bench", request.remote_addr or ""):
                return jsonify(error="rate_limited"), 429
            return view()
        return limited

    app.add_url_rule("/tool", view_func=check(tool_view))
    return app


def flask_httpauth() -> Flask:
    app = _flask()
    auth = HTTPTokenAuth(scheme="Bearer")
    expected = API_KEY.encode()

    def verify(token: str) -> str | None:
        return "agent" if hmac.compare_digest(token.encode(), expected) else None

    auth.verify_token(verify)
    app.add_url_rule("/tool", view_func=auth.login_required(tool_view))
    return app


def flask_jwt_extended() -> Flask:
    app = _flask(JWT_SECRET_KEY=JWT_SECRET, JWT_DECODE_AUDIENCE=AUDIENCE)
    JWTManager(app)
    app.add_url_rule("/tool", view_func=jwt_required()(tool_view))
    return app


def _constant(headers: Headers) -> Callable[[int], Headers]:
    return lambda index: headers


def scoped_key_app(*, loader: bool) -> Flask:
    """API_KEY as a record with scopes on a view requiring one; from config, or a loader (cached,
    so after the first request this measures the cache, as production does)."""
    record = {"id": "bench", "hash": hash_key(API_KEY), "scopes": ["tools:list", "tools:call:*"]}
    app = _flask(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[] if loader else [record],
                 OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
                 OTC_AUTH_REQUIRE_HTTPS=False)
    OTCAuth(app, api_key_loader={record["hash"]: record}.get if loader else None)
    app.add_url_rule("/tool", view_func=require_auth(scopes=["tools:call:Math.Add"])(tool_view))
    return app


FULL_POLICY: dict[str, Any] = {
    # Every rule that a GET of /tool can be asked about, each one passed: the test client's
    # address, the whole day in a zone with summer time, every weekday, the view by name and
    # a blocked toolkit (a GET is no tool call: its body is never read), a budget of its own.
    "ip_allowlist": ["10.0.0.0/8", "127.0.0.0/8", "2001:db8::/32"],
    "ip_denylist": ["192.0.2.0/24"],
    "allowed_hours": "00:00-24:00", "timezone": "Europe/Berlin",
    "allowed_weekdays": ["mon-sun"],
    "allowed_endpoints": ["tool_view", "tool:Math.*"], "blocked_endpoints": ["tool:Admin.*"],
}


def policy_key_app(policy: dict[str, Any] | None, app_limit: str | None = None) -> Flask:
    """API_KEY as a record (no scopes), with ``policy`` or without; the app's failure limit
    off, its per-caller limit ``app_limit`` (off by default)."""
    record: dict[str, Any] = {"id": "bench", "hash": hash_key(API_KEY)}
    if policy is not None:
        record["policy"] = policy
    app = _flask(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[record],
                 OTC_AUTH_RATELIMIT=app_limit, OTC_AUTH_FAILURE_RATELIMIT=None,
                 OTC_AUTH_REQUIRE_HTTPS=False)
    OTCAuth(app)
    app.add_url_rule("/tool", view_func=require_auth(tool_view))
    return app


def junk_token() -> str:
    """8 KiB of base64url-looking garbage shaped like a JWS: the worst a scanner sends."""
    part = secrets.token_urlsafe(6000)[:2730]
    return f"{part}.{part}.{part}"[:8192]


def cases(new_tokens: int) -> Iterator[Case]:
    """Every configuration of the table, bare Flask first (the denominator of every ratio)."""
    token = make_token()
    bearer = {"Authorization": f"Bearer {token}"}
    key = {"OTC-API-Key": API_KEY}
    pool = TokenPool(new_tokens)
    junk = {"Authorization": f"Bearer {junk_token()}"}
    yield Case("bare Flask", bare, _constant({}), group="baseline")
    yield Case("API key", lambda: otcauth_app(methods=["api_key"]), _constant(key))
    yield Case("API key record + scope check", lambda: scoped_key_app(loader=False),
               _constant(key))
    yield Case("API key from a loader (cached) + scope", lambda: scoped_key_app(loader=True),
               _constant(key))
    yield Case("API key record, no policy", lambda: policy_key_app(None), _constant(key))
    yield Case("API key record + policy (address, hours, endpoints)",
               lambda: policy_key_app(FULL_POLICY), _constant(key))
    yield Case("API key record + full policy (and its own ratelimit, memory)",
               lambda: policy_key_app({**FULL_POLICY, "ratelimit": BIG_LIMIT}), _constant(key))
    yield Case("API key record, no policy, OTC_AUTH_RATELIMIT (memory)",
               lambda: policy_key_app(None, BIG_LIMIT), _constant(key))
    yield Case("JWT, reused token", lambda: otcauth_app(methods=["jwt"]), _constant(bearer))
    yield Case("JWT, new token each request", lambda: otcauth_app(methods=["jwt"]), pool.headers)
    yield Case("JWT + both limits, memory",
               lambda: otcauth_app(methods=["jwt"], limits=True, storage="memory://"),
               _constant(bearer))
    yield Case("JWT + both limits, Redis",
               lambda: otcauth_app(methods=["jwt"], limits=True, storage=REDIS_URL),
               _constant(bearer), needs_redis=True)
    yield Case("JWT + revocation, memory",
               lambda: otcauth_app(methods=["jwt"], storage="memory://", revocation=True),
               _constant(bearer))
    yield Case("JWT + both limits + revocation, Redis",
               lambda: otcauth_app(methods=["jwt"], limits=True, storage=REDIS_URL,
                                   revocation=True),
               _constant(bearer), needs_redis=True)
    from .oauth_apps import oauth_cases  # noqa: PLC0415 - it imports this module

    yield from oauth_cases(new_tokens)
    from .bound_apps import bound_cases  # noqa: PLC0415 - it imports this module

    yield from bound_cases(new_tokens)
    from .budget_apps import budget_cases  # noqa: PLC0415 - it imports this module

    yield from budget_cases()
    from .listing_apps import listing_cases  # noqa: PLC0415 - it imports this module

    yield from listing_cases()
    from .tool_apps import tool_cases  # noqa: PLC0415 - it imports this module

    yield from tool_cases()
    yield Case("reject: 8 KiB junk token", lambda: otcauth_app(methods=["jwt"]),
               _constant(junk), status=401)
    yield Case("reject: random 60-byte key", lambda: otcauth_app(methods=["api_key"]),
               _constant({"OTC-API-Key": secrets.token_urlsafe(45)}), status=401)
    yield Case("bare Flask, same 8 KiB header", bare, _constant(junk), group="reference")
    yield Case("hand-written compare_digest key", handwritten_api_key, _constant(key),
               group="reference")
    yield Case("Flask-HTTPAuth HTTPTokenAuth", flask_httpauth,
               _constant({"Authorization": f"Bearer {API_KEY}"}),
               group="reference")
    yield Case("hand-written PyJWT decorator", handwritten_pyjwt, _constant(bearer),
               group="reference")
    yield Case("Flask-JWT-Extended jwt_required", flask_jwt_extended, _constant(bearer),
               group="reference")
    yield Case("Flask-Limiter memory, no auth", lambda: flask_limiter_only("memory://"),
               _constant({}), group="reference")
    yield Case("Flask-Limiter Redis, no auth", lambda: flask_limiter_only(REDIS_URL),
               _constant({}), needs_redis=True, group="reference")
    yield Case("PyJWT + Flask-Limiter by identity", lambda: handwritten_pyjwt("memory://"),
               _constant(bearer), group="reference")
    yield Case("limits strategy called directly", limits_direct, _constant({}),
               group="reference")
