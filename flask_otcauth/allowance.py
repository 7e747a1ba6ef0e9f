"""Budgets and tenants on the Flask request path: read the tenant the request names, spend the
caller's budget, and answer with what is left.

:func:`allow` runs inside :func:`~flask_otcauth.guard.verify`, after the core admitted the
caller, for a tenant-scoped view or a caller that may have a budget only; the decisions are
the core's (:mod:`.core.tenants`, :mod:`.core.budgets`). A view reports a measured cost with
:func:`report_cost`; the charge is settled and the ``RateLimit`` fields added once the view
answered, so no call is refused after its work was done.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from flask import after_this_request, request

from .core.audit import RequestFacts, record_cross_tenant
from .core.budget_config import amount
from .core.gate import Gate, Requirement
from .core.identity import Identity
from .core.methods.base import AuthRequest
from .core.tenants import TenantSource, check_tenant
from .request_body import checked_json

if TYPE_CHECKING:
    from flask import Flask, Request
    from werkzeug.sansio.response import Response

CHARGE_ATTR: Final = "otcauth_charge"
"""On the request: ``[budgets, charge, reported cost or None]`` of a budgeted call."""


def allow(gate: Gate, identity: Identity | None, requirement: Requirement, *,
          current_request: Request, auth_request: AuthRequest, app: Flask, now: float,
          facts: Callable[[], RequestFacts]) -> None:
    """The tenant check, then the budget's spend; raises the core's refusal. ``facts`` says
    what the audit trail may tell of the request."""
    if identity is None or gate.auth_disabled:
        return
    budgets = gate.budgets
    settings = budgets.settings
    source = requirement.tenant_from
    if source is not None:
        requested = read_tenant(source, current_request)
        if check_tenant(identity, requested, source, settings.cross_tenant):
            record_cross_tenant(app, identity, str(requested), facts)
    if not budgets.applies(identity):
        return
    cost = requirement.cost
    if cost is None:
        cost = settings.tool_cost(auth_request.tool()) if settings.tool_costs else None
    charge = budgets.charge(identity, 1 if cost is None else cost, now)
    if charge is None:
        return
    state = [budgets, charge, None]
    setattr(current_request, CHARGE_ATTR, state)
    after_this_request(functools.partial(_settle, state))


def report_cost(units: int) -> None:
    """Report what this call really cost (LLM tokens used, rows scanned...), in place of the
    cost charged before the view ran; the difference is spent whatever it overdraws, and an
    overdrawn budget refuses the next call. Outside a budgeted call it does nothing."""
    units = amount(units, "report_cost(units)", minimum=0)
    state = getattr(request._get_current_object(), CHARGE_ATTR, None)  # type: ignore[attr-defined]
    if state is not None:
        state[2] = units


def budget_status() -> list[dict[str, Any]]:
    """What this request's caller has left of each budget, as it stands after this call:
    ``[{"name": "budget" | "tenant", "limit", "used", "remaining", "window", "resets_in"}]``
    (seconds), for a view that shows the usage; ``[]`` for a caller without a budget. A
    measured cost the view reports afterwards is not in it yet."""
    state = getattr(request._get_current_object(), CHARGE_ATTR, None)  # type: ignore[attr-defined]
    if state is None:
        return []
    charge = state[1]
    resets_in = max(0, math.ceil(charge.resets_at - time.time()))
    return [{"name": pocket.name, "limit": pocket.limit, "used": used, "remaining": left,
             "window": charge.window, "resets_in": resets_in}
            for pocket, used, left in zip(charge.pockets, charge.used, charge.remaining(),
                                          strict=True)]


def read_tenant(source: TenantSource, current_request: Request) -> str | None:
    """The tenant the request names where ``source`` says, ``None`` when it names none."""
    value: Any
    if source.kind == "view_arg":
        value = (current_request.view_args or {}).get(source.name)
    elif source.kind == "header":
        value = current_request.headers.get(source.name)
    elif source.kind == "query":
        value = current_request.args.get(source.name)
    else:
        value = checked_json(current_request)  # None: too large, or chunked
        for name in source.path:
            value = value.get(name) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def _settle(state: list[Any], response: Response) -> Response:
    """Once the view answered: the reported cost in place of the charged one, and the
    remaining budget in ``RateLimit`` and ``RateLimit-Policy`` (added: both are lists, which
    may be split over several field lines, so a view's own members are kept)."""
    budgets, charge, reported = state
    if reported is not None:
        charge = budgets.settle(charge, reported)
    headers = response.headers
    for name, value in charge.headers(time.time()):
        headers.add(name, value)
    return response
