"""An app whose callers carry budgets and tenants: what every test of ``tests/budgets`` shares.

Three API keys: ``ACME_KEY`` (record ``acme-bot`` of tenant ``acme``), ``GLOBEX_KEY`` (record
``globex-bot`` of tenant ``globex``) and ``OPS_KEY`` (record ``ops-console``, no tenant); the
fields each record carries besides are the test's. Views: the OXP call (``POST /tools/call``,
reporting a measured cost when the body asks it to), a tenant's usage by URL variable, header,
query parameter and body field, and a view that never spends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Flask, request

from flask_otcauth import OTCAuth, current_identity, report_cost, require_auth

from ..conftest import base_config

ACME_KEY = "acme-api-key-" + "Qm7Rt" * 8
GLOBEX_KEY = "globex-api-key-" + "Vb2Xk" * 8
OPS_KEY = "ops-api-key-" + "Hd5Lp" * 8
BudgetApp = Callable[..., Flask]


def record(key: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": record_id, "hash": "sha256:" + hashlib.sha256(key.encode()).hexdigest(),
            **fields}


def key(value: str) -> dict[str, str]:
    return {"OTC-API-Key": value}


def call(tool_id: str = "Math.Add@1.0.0", **request_fields: Any) -> dict[str, Any]:
    """An OXP ToolCallRequest body."""
    return {"request": {"tool_id": tool_id, "input": {"a": 1, "b": 2}, **request_fields}}


def build_budget_app(acme: dict[str, Any] | None = None, globex: dict[str, Any] | None = None,
                     ops: dict[str, Any] | None = None, *,
                     records: list[dict[str, Any]] | None = None, **overrides: Any) -> Flask:
    """The three keys with ``acme``, ``globex`` and ``ops``'s extra record fields (or
    ``records`` in their place); every view answers what it saw, so a test can tell that a
    view did not run."""
    app = Flask(__name__)
    if records is None:
        records = [record(ACME_KEY, "acme-bot", tenant="acme", **(acme or {})),
                   record(GLOBEX_KEY, "globex-bot", tenant="globex", **(globex or {})),
                   record(OPS_KEY, "ops-console", **(ops or {}))]
    app.config.update(base_config(OTC_AUTH_API_KEYS=records, **overrides))
    OTCAuth(app)
    app.config["VIEWS_RUN"] = []

    @app.post("/tools/call")
    @require_auth
    def call_tool() -> dict[str, Any]:
        body = request.get_json(silent=True) or {}
        measured = body.get("request", {}).get("measured_cost")
        if isinstance(measured, int):
            report_cost(measured)
        app.config["VIEWS_RUN"].append("call")
        return {"tool": body.get("request", {}).get("tool_id"),
                "caller": current_identity.subject}

    def usage(tenant: str | None = None) -> dict[str, Any]:
        app.config["VIEWS_RUN"].append(f"usage:{tenant or request.endpoint}")
        return {"tenant": current_identity.tenant, "caller": current_identity.subject}

    app.add_url_rule("/tenants/<tenant>/usage", "usage_by_path",
                     require_auth(tenant_from="view_arg:tenant", cost=0)(usage))
    app.add_url_rule("/usage-by-header", "usage_by_header",
                     require_auth(tenant_from="header:X-Tenant")(usage))
    app.add_url_rule("/usage-by-query", "usage_by_query",
                     require_auth(tenant_from="query:tenant")(usage))
    app.add_url_rule("/usage-by-body", "usage_by_body",
                     require_auth(tenant_from="body:request.tenant")(usage), methods=["POST"])
    app.add_url_rule("/free", "free", require_auth(cost=0)(usage))
    return app
