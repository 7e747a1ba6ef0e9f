"""The quickstart's tool server: one file, protected by flask-otcauth.

Run it with ``flask --app quickstart run`` after exporting the three variables the
quickstart page creates (``OTC_AUTH_JWT_SECRET``, ``TOOLS_API_KEY_DIGEST`` and, for the
clients, ``TOOLS_API_KEY``). The tests run this very file under a real server and call it
with ``curl``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, request

from flask_otcauth import OTCAuth, current_identity, require_auth

app = Flask(__name__)
app.config.from_mapping(
    OTC_AUTH_METHODS=["jwt", "api_key"],
    OTC_AUTH_JWT_SECRET=os.environ["OTC_AUTH_JWT_SECRET"],
    OTC_AUTH_JWT_AUDIENCES=["my-agent-platform"],
    # Only the SHA-256 digest of the key lives in configuration, never the key itself.
    OTC_AUTH_API_KEYS=[os.environ["TOOLS_API_KEY_DIGEST"]],
    # This trial serves plain http://127.0.0.1. Serving real callers, delete this line:
    # credentials over plain HTTP are then refused with 403 https_required.
    OTC_AUTH_REQUIRE_HTTPS=False,
)
auth = OTCAuth(app)  # refuses to start if a secret is missing or weak
# Each refusal and each accepted request is an INFO record on the "flask_otcauth" logger:
# without these two lines (and the import) the server's log shows none of them.
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("flask_otcauth").setLevel(logging.INFO)

GREET = {
    "id": "Hello.Greet@1.0.0",
    "name": "Greet",
    "description": "Say hello to someone.",
    "version": "1.0.0",
    "input_schema": {"parameters": {"type": "object", "properties": {"name": {"type": "string"}},
                                    "required": ["name"]}},
    "output_schema": None,
}


@app.get("/health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.get("/tools")
@require_auth
def list_tools() -> dict[str, Any]:
    return {"$schema": "urn:oxp:1.0", "items": [GREET]}


@app.post("/tools/call")
@require_auth
def call_tool() -> dict[str, Any]:
    call = (request.get_json(silent=True) or {}).get("request") or {}
    name = str((call.get("input") or {}).get("name", "world"))
    return {
        "$schema": "urn:oxp:1.0",
        "result": {"call_id": str(call.get("call_id", "1")), "duration": 0.0, "success": True,
                   "value": f"Hello, {name}! (called by {current_identity.subject})"},
    }
