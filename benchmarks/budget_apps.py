"""The rows of call budgets: an API key record with a budget of its own, and with its tenant's
budget too, counted in the app's ``memory://`` storage, against "API key record, no policy" of
:mod:`.apps`, the same record without a budget. A budget too large to run out (the runs send a
few thousand calls) keeps every request a 200 that spends a unit and carries the RateLimit
fields; the Redis row costs a round trip, comparable only in wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from flask import Flask

from flask_otcauth import OTCAuth, hash_key, require_auth

from .apps import API_KEY, REDIS_URL, Case, _constant, _flask
from .apps import tool_view as view

_UNITS: Final = 10**12


def budget_key_app(*, tenant_budget: bool = False, storage: str = "memory://") -> Flask:
    """API_KEY as a record of tenant ``bench`` with a budget, and its tenant's when asked."""
    record: dict[str, Any] = {"id": "bench", "hash": hash_key(API_KEY), "tenant": "bench",
                              "budget": _UNITS}
    app = _flask(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[record],
                 OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
                 OTC_AUTH_REQUIRE_HTTPS=False, OTC_AUTH_STORAGE_URI=storage,
                 OTC_AUTH_TENANT_BUDGETS={"bench": _UNITS} if tenant_budget else {})
    OTCAuth(app)
    app.add_url_rule("/tool", view_func=require_auth(view))
    return app


def budget_cases() -> Iterator[Case]:
    key = _constant({"OTC-API-Key": API_KEY})
    yield Case("API key record + budget (memory)", budget_key_app, key)
    yield Case("API key record + budget + tenant budget (memory)",
               lambda: budget_key_app(tenant_budget=True), key)
    yield Case("API key record + budget, Redis", lambda: budget_key_app(storage=REDIS_URL), key,
               needs_redis=True)
