"""The Flask application: configuration, the three OTC endpoints, JSON errors.

The routes are deliberately thin: :mod:`example_app.protocol` decides every status and shape,
and ``flask_otcauth`` decides who may call. What is left here is the wiring a reader copies.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from flask_otcauth import OTCAuth, current_identity, require_auth

from .config import DEFAULTS, as_flag, dev_banner, dev_credentials, from_environment
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
_VERSION = "1.0.0"


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

    dev_mode = app.debug or as_flag(app.config["EXAMPLE_DEV_MODE"], "EXAMPLE_DEV_MODE")
    credentials = dev_credentials(app.config) if dev_mode else None
    if credentials is not None:
        app.config.from_mapping(credentials.settings())
    if dev_mode:
        # The development server speaks plain HTTP on localhost; production keeps the default.
        app.config.setdefault("OTC_AUTH_REQUIRE_HTTPS", False)

    auth.init_app(app)  # validates every OTC_AUTH_* key; a bad or missing secret raises here
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


@api.get("/tools")
@require_auth
def list_tools() -> Response:
    logger.info("tools listed by %s:%s", current_identity.method, current_identity.subject)
    return jsonify(list_response(_registry().definitions()))


@api.post("/tools/call")
@require_auth
def call_tool() -> tuple[Response, int]:
    try:
        if not request.is_json:
            raise ProtocolError("The request is malformed.", "Send Content-Type: application/json.")
        # silent: an unparsable body must be the protocol's 400, not Werkzeug's HTML page.
        call = parse_call_request(request.get_json(silent=True))
        tool = resolve_tool(_registry(), call.tool_id)
        result = execute(tool, call)
    except (ProtocolError, InputValidationError) as error:
        return jsonify(error.body()), error.status
    logger.info(
        "call %s to %s by %s:%s: success=%s",
        call.call_id,
        tool.id,
        current_identity.method,
        current_identity.subject,
        result["success"],
    )
    return jsonify(call_response(call, result)), 200
