"""A tiny tool server for the multi-process rate-limit test, configured by the environment.

Run as ``gunicorn 'tests.ratelimit_app:create_app()'``; every ``OTC_AUTH_*`` variable holds
JSON, as Flask's ``from_prefixed_env`` reads it. Every response names the worker process that
served it (``X-Worker-Pid``), so a test can tell the workers apart.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask, Response

from flask_otcauth import OTCAuth, current_identity, require_auth


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        {name: json.loads(value) for name, value in os.environ.items()
         if name.startswith("OTC_AUTH_")}
    )
    OTCAuth(app)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.after_request
    def name_the_worker(response: Response) -> Response:
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app
