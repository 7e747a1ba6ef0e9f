"""A small tool server for the multi-process tests (limits, nonces), configured by the environment.

Run as ``gunicorn 'tests.served_app:create_app()'``; every ``OTC_AUTH_*`` (and Flask-Limiter
``RATELIMIT_*``) variable holds JSON, as Flask's ``from_prefixed_env`` reads it. Every response
names the worker process that served it (``X-Worker-Pid``), so a test can tell the workers
apart; ``/tenants/<tenant>/data`` is tenant-scoped and free.
``OTCAUTH_TEST_PROXY_FIX=1`` puts werkzeug's ProxyFix in front, trusting one proxy for
every ``X-Forwarded-*`` header. ``OTCAUTH_TEST_LOADER_RECORDS`` (JSON, a list of key records)
registers an ``api_key_loader`` that finds them by hash, and counts its calls in
``X-Loader-Calls``: a test can see that the loader's cache answered. ``/tools/<name>?hold=S``
keeps its worker busy for S seconds (at most one) after admission: concurrent calls then reach
the other worker too, however the machine's load schedules the two.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_otcauth import OTCAuth, budget_status, current_identity, require_auth


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        {name: json.loads(value) for name, value in os.environ.items()
         if name.startswith(("OTC_AUTH_", "RATELIMIT_"))}
    )
    auth = OTCAuth()
    loader_records = os.environ.get("OTCAUTH_TEST_LOADER_RECORDS")
    loader_calls = [0]
    if loader_records is not None:
        by_hash = {record["hash"]: record for record in json.loads(loader_records)}

        @auth.api_key_loader
        def find_key(digest: str) -> dict[str, Any] | None:
            loader_calls[0] += 1
            return by_hash.get(digest)

    auth.init_app(app)
    if os.environ.get("OTCAUTH_TEST_PROXY_FIX") == "1":
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.route("/tools/<path:name>", methods=["GET", "POST"])  # "a%2Fb" is the name "a/b"
    @require_auth
    def tool(name: str) -> dict[str, Any]:
        time.sleep(min(request.args.get("hold", 0.0, type=float), 1.0))
        return {"method": current_identity.method, "subject": current_identity.subject,
                "name": name, "body": request.get_data(as_text=True)}

    @app.get("/tenants/<tenant>/data")
    @require_auth(tenant_from="view_arg:tenant", cost=0)
    def tenant_data(tenant: str) -> dict[str, Any]:
        """One tenant's data: refused to other tenants' credentials before it runs."""
        return {"tenant": tenant, "caller": current_identity.subject,
                "bound_to": current_identity.tenant, "budgets": budget_status()}

    @app.after_request
    def name_the_worker(response: Response) -> Response:
        response.headers["X-Worker-Pid"] = str(os.getpid())
        if loader_records is not None:
            response.headers["X-Loader-Calls"] = str(loader_calls[0])
        return response

    return app
