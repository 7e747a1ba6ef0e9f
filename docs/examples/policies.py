"""A tool server whose callers each carry an access policy: where, when and what they may reach.

``ci-bot``'s API key works only from the build network, on weekdays during Berlin office hours,
for listing tools and calling the Math toolkit, with a budget of its own. ``agent-platform``'s
signed requests may call every tool but the Admin ones. Tokens minted for the audience
``dashboard`` are held to ``OTC_AUTH_CLIENT_POLICIES``. Behind one proxy, ``ProxyFix`` makes the
proxy's ``X-Forwarded-For`` the address the policies see; without it, that header is ignored.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_otcauth import OTCAuth, current_identity, require_auth

OFFICE_HOURS: dict[str, Any] = {
    "allowed_hours": "09:00-17:30",  # from 09:00 up to 17:29 included, Berlin time
    "timezone": "Europe/Berlin",  # summer and winter time alike
    "allowed_weekdays": ["mon-fri"],
}


def create_app(ci_key_hash: str, signing_secret: str, jwt_secret: str, *,
               behind_proxy: bool = False, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        OTC_AUTH_METHODS=["api_key", "hmac", "jwt"],
        OTC_AUTH_API_KEYS=[{
            "id": "ci-bot", "hash": ci_key_hash,
            "policy": {
                **OFFICE_HOURS,
                "ip_allowlist": ["10.20.0.0/16", "2001:db8:20::/48"],
                "allowed_endpoints": ["list_tools", "tool:Math.*"],
                "ratelimit": "100/minute;1000/hour;10000/day",
            },
        }],
        OTC_AUTH_HMAC_CLIENTS={"agent-platform": {
            "secrets": [signing_secret],
            "policy": {"blocked_endpoints": ["tool:Admin.*"]},
        }},
        OTC_AUTH_JWT_SECRET=jwt_secret,
        OTC_AUTH_JWT_AUDIENCES=["dashboard"],
        OTC_AUTH_CLIENT_POLICIES={"dashboard": {"allowed_endpoints": ["/tools"]}},
        **config,
    )
    if behind_proxy:  # exactly one proxy in front, which sets X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def list_tools() -> dict[str, Any]:
        return {"caller": current_identity.subject, "tools": ["Math.Add", "Admin.Purge"]}

    @app.post("/tools/call")
    @require_auth
    def call_tool() -> dict[str, Any]:
        call = request.get_json()  # the body the policy read is still there, parsed once
        return {"caller": current_identity.subject, "tool": call["request"]["tool_id"]}

    return app
