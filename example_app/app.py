"""The Flask application: configuration, the three OTC endpoints, JSON errors.

The routes are deliberately thin: :mod:`example_app.protocol` decides every status and shape,
and ``flask_otcauth`` decides who may call. What is left here is the wiring a reader copies.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Final, cast

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from flask_otcauth import OTCAuth, budget_status, current_identity, require_auth

from .config import (
    DEFAULTS,
    as_flag,
    dev_banner,
    dev_credentials,
    dev_signing_key_file,
    from_environment,
    oauth_settings,
    remove_dev_signing_key,
)
from .logs import printable, route_to_stderr
from .openapi import openapi_document
from .protocol import (
    InputValidationError,
    ProtocolError,
    call_response,
    execute,
    list_response,
    parse_call_request,
    resolve_tool,
)
from .registry import ToolRegistry
from .tools import default_registry

logger = logging.getLogger(__name__)

auth = OTCAuth()
api = Blueprint("otc", __name__)
_REGISTRY = "example_app.registry"
LIST_SCOPE = "tools:list"


TOOL_SCOPE = "tools:call:{tool}"
"""The scope that lets a caller call one tool, any version: ``tools:call:Math.Add``
(``{tool}`` is the tool's ``Toolkit.Name``). Grant ``tools:call:Math.*`` for a toolkit and
``tools:call:*`` for every tool."""
_VERSION = "1.0.0"

# Every tool call, decided by the extension before the view looks the tool up: a tool the
# caller may not call and one that does not exist are the same 403, so nobody can probe which
# tools exist beyond their scopes. OTC_AUTH_TOOL_SCOPES adds entries (an admin-only toolkit).
auth.tool("*", scopes=[TOOL_SCOPE])

STEP_UP_ACR: Final = "phr"
"""The authentication context Math.Evaluate needs: "phr", phishing-resistant authentication
(OpenID Connect Extended Authentication Profile ACR Values 1.0), as the authorization server
puts it in the token's ``acr`` claim."""
STEP_UP_MAX_AGE: Final = 300
"""Seconds since that sign-in (the token's ``auth_time``) within which Math.Evaluate runs."""

# A tool that runs what the caller wrote is the sensitive one: RFC 9470 step-up on top of its
# scope. A token that falls short gets the 401 challenge to sign in again; an API key (no
# user sign-in at all) a 403, and auth.callable_tools leaves the tool out of its listing.
# OTC_AUTH_TOOL_STEP_UP applies first: its acr_values replace these, its max_age can only
# shorten STEP_UP_MAX_AGE (the smallest matching one applies).
auth.tool("Math.Evaluate", acr_values=[STEP_UP_ACR], max_age=STEP_UP_MAX_AGE)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the tool server; raises ``OTCAuthConfigError`` when it would run without credentials.

    Settings apply in this order, later winning: :data:`~example_app.config.DEFAULTS`, the
    ``OTC_AUTH_*`` and ``EXAMPLE_*`` environment variables, then ``config``. Dev mode
    (``FLASK_DEBUG`` or ``EXAMPLE_DEV_MODE``) fills in throwaway credentials when none are
    configured; production mode never does, so a forgotten secret stops the server instead of
    opening it. Dev mode belongs to ``python -m example_app``: every worker of a multi-process
    server would generate, and print, credentials of its own.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(from_environment(os.environ))
    if config is not None:
        app.config.from_mapping(config)
    # OTC_AUTH_OAUTH_ISSUERS set: oauth joins the methods and its metadata is published.
    app.config.from_mapping(oauth_settings(app.config))

    dev_mode = app.debug or as_flag(app.config["EXAMPLE_DEV_MODE"], "EXAMPLE_DEV_MODE")
    credentials = dev_credentials(app.config) if dev_mode else None
    if credentials is not None:
        app.config.from_mapping(credentials.settings())
    if dev_mode:
        # The development server speaks plain HTTP on localhost; production keeps the default.
        app.config.setdefault("OTC_AUTH_REQUIRE_HTTPS", False)
    dev_key = dev_signing_key_file(app.config) if dev_mode else {}
    app.config.from_mapping(dev_key)

    # Before init_app, so that a refusal of the configuration is not the first thing unlogged.
    route_to_stderr(as_flag(app.config["EXAMPLE_LOG_REQUESTS"], "EXAMPLE_LOG_REQUESTS"))
    try:
        auth.init_app(app)  # validates every OTC_AUTH_* key; a bad or missing secret raises here
    finally:
        remove_dev_signing_key(dev_key)  # read once by init_app: no key stays on disk
    if credentials is not None:
        # stderr, not logging: a log pipeline would keep the credentials after the run ends.
        print(dev_banner(credentials, app.config), file=sys.stderr, flush=True)

    app.extensions[_REGISTRY] = default_registry()
    app.register_blueprint(api)
    for code in (404, 405, 413, 500):
        app.register_error_handler(code, _http_error)
    return app


def _registry() -> ToolRegistry:
    return cast(ToolRegistry, current_app.extensions[_REGISTRY])


def _http_error(error: HTTPException) -> tuple[Response, int]:
    """Werkzeug's HTML error pages as ServerErrorResponse JSON, so clients parse one format.

    Registered per status code rather than for ``HTTPException`` as a whole, which would also
    catch (and reshape) the extension's own 401 and 429 responses.
    """
    response = jsonify(message=error.name, developer_message=error.description)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers.add(name, value)  # keeps Allow on a 405
    return response, error.code or 500


@api.get("/health")
@auth.exempt
def health() -> Response:
    """Open to all, always: load balancers probe it without credentials (the spec says so too)."""
    return jsonify(status="ok")


@api.get("/openapi.json")
@auth.exempt
def openapi() -> Response:
    """The server documents its own methods (a spec MUST), read from the running settings."""
    return jsonify(openapi_document(auth.openapi_security_schemes(), auth.openapi_security(),
                                    version=_VERSION))


@api.before_request
def _start_clock() -> None:
    """The duration a request's log line reports includes authenticating it."""
    g.example_started = time.perf_counter()


def _log_request(what: str, status: int, **fields: object) -> None:
    """The one line of an authenticated request (refusals have the extension's line)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    identity = current_identity
    caller = f"{identity.method}:{printable(identity.subject or identity.client or '-')}"
    elapsed = (time.perf_counter() - g.get("example_started", time.perf_counter())) * 1000
    details = "".join(f" {name}={printable(value)}" for name, value in fields.items())
    logger.info("%s: status=%d caller=%s%s duration=%.1fms", what, status, caller, details,
                elapsed)


@api.get("/tools")
@require_auth(scopes=[LIST_SCOPE])
def list_tools() -> Response:
    """Only the tools this caller may call: a listing is no use for tools it would be refused."""
    callable_tools = auth.callable_tools(_registry().definitions())
    _log_request("tools listed", 200, tools=len(callable_tools))
    listing = list_response(callable_tools)
    if auth.signs_tools():
        # Beside the items: the OXP schema allows no extra member inside a ToolDefinition.
        # Each definition is signed once per process; later requests reuse the signature.
        listing["signatures"] = auth.sign_tool_definitions(callable_tools)
    return jsonify(listing)


@api.post("/tools/call")
@require_auth
def call_tool() -> tuple[Response, int]:
    """Reaches here only when the caller may call the tool it names: the extension read the
    body once (``get_json``) and decided the tool's scopes; the view reads that same parse."""
    tool_id: str = "-"
    try:
        if not request.is_json:
            raise ProtocolError("The request is malformed.", "Send Content-Type: application/json.")
        # silent: an unparsable body must be the protocol's 400, not Werkzeug's HTML page.
        call = parse_call_request(request.get_json(silent=True))
        tool_id = call.tool_id
        tool = resolve_tool(_registry(), call.tool_id)
        tool_id = tool.id
        result = execute(tool, call)
    except (ProtocolError, InputValidationError) as error:
        _log_request("tool call", error.status, tool=tool_id)
        return jsonify(error.body()), error.status
    _log_request("tool call", 200, tool=tool.id, call_id=call.call_id,
                 success=str(result["success"]).lower())
    return jsonify(call_response(call, result)), 200


@api.get("/tenants/<tenant>/usage")
@require_auth(tenant_from="view_arg:tenant", cost=0)
def tenant_usage(tenant: str) -> Response:
    """What this caller has left of its budgets today: tenant-scoped (a key of another tenant
    gets 403 tenant_mismatch before this runs) and free (cost=0), so an exhausted caller can
    still see why it is refused and until when."""
    _log_request("usage", 200, tenant=tenant)
    return jsonify(tenant=tenant, caller=current_identity.subject, budgets=budget_status())
