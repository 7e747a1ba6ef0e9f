"""The OTC/OXP 1.0 wire format: parsing a call, validating tool input, shaping every response.

Free of Flask so that each rule of the protocol (which failure is a 400, which a 422, which a
``success: false``) is tested as a plain function, and the routes stay a few lines of glue.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .registry import (
    JSONValue,
    MalformedToolIdError,
    Tool,
    ToolError,
    ToolRegistry,
    UnknownToolError,
)

logger = logging.getLogger(__name__)

LATEST_SCHEMA: Final = "urn:oxp:1.0"
# The same protocol under its two names: OTC was renamed OXP days after release, rules unchanged.
SUPPORTED_SCHEMAS: Final = (LATEST_SCHEMA, "otc://1.0")
_TYPES: Final[Mapping[str, str]] = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}
_ECHO_LIMIT: Final = 100


class ProtocolError(Exception):
    """A request the server cannot act on: answered 400 with a ServerErrorResponse."""

    status: Final = 400

    def __init__(self, message: str, developer_message: str) -> None:
        super().__init__(developer_message)
        self.message = message
        self.developer_message = developer_message

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "developer_message": self.developer_message}


class InputValidationError(Exception):
    """The tool exists but its input is wrong: answered 422 with every parameter's problem at once.

    All errors are collected rather than the first one raised, so that a model fixes its call in
    one round trip instead of one per mistake.
    """

    status: Final = 422

    def __init__(self, parameter_errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(parameter_errors))
        self.parameter_errors = dict(parameter_errors)

    def body(self) -> dict[str, Any]:
        return {
            "message": "The tool input is invalid.",
            "parameter_errors": self.parameter_errors,
        }


@dataclass(frozen=True)
class CallRequest:
    """A parsed ``POST /tools/call`` body; ``call_id`` is generated when the client sent none."""

    schema: str
    tool_id: str
    call_id: str
    input: Mapping[str, Any]
    trace_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


def echo(value: object) -> str:
    """A client-supplied value, shortened, for a developer_message: quoted, never unbounded."""
    text = repr(value)
    return text if len(text) <= _ECHO_LIMIT else text[: _ECHO_LIMIT - 3] + "..."


def negotiate_schema(schema: object) -> str:
    """The protocol version to answer in; absent means the latest, anything unknown is a 400."""
    if schema is None:
        return LATEST_SCHEMA
    if isinstance(schema, str) and schema in SUPPORTED_SCHEMAS:
        return schema
    raise ProtocolError(
        "Unsupported protocol version.",
        f"$schema {echo(schema)} is not supported; use one of: {', '.join(SUPPORTED_SCHEMAS)}.",
    )


def _optional_string(request: Mapping[str, Any], key: str) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError("The request is malformed.", f"request.{key} must be a string.")
    return value


def parse_call_request(
    body: object, new_call_id: Callable[[], str] = lambda: str(uuid.uuid4())
) -> CallRequest:
    """Check the envelope of a call; the tool's own input is checked later, against its schema.

    Unknown top-level keys are ignored (clients may add extensions); inside ``request`` the
    OpenAPI forbids additional properties, but refusing them would break newer clients, so only
    the types of the known keys are enforced.
    """
    if not isinstance(body, Mapping):
        raise ProtocolError("The request is malformed.", "The body must be a JSON object.")
    schema = negotiate_schema(body.get("$schema"))
    request = body.get("request")
    if not isinstance(request, Mapping):
        raise ProtocolError("The request is malformed.", 'The body needs a "request" object.')
    tool_id = request.get("tool_id")
    if not isinstance(tool_id, str) or not tool_id:
        raise ProtocolError("The request is malformed.", "request.tool_id must be a string.")
    tool_input = request.get("input", {})
    if tool_input is None:
        tool_input = {}
    if not isinstance(tool_input, Mapping):
        raise ProtocolError("The request is malformed.", "request.input must be an object.")
    context = request.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        raise ProtocolError("The request is malformed.", "request.context must be an object.")
    call_id = _optional_string(request, "call_id")
    return CallRequest(
        schema=schema,
        tool_id=tool_id,
        call_id=call_id if call_id else new_call_id(),
        input=tool_input,
        trace_id=_optional_string(request, "trace_id"),
        context=context,
    )


def resolve_tool(registry: ToolRegistry, tool_id: str) -> Tool:
    """The tool to run; an unknown tool or version is the spec's 400, not a 404 or a 422."""
    try:
        return registry.resolve(tool_id)
    except MalformedToolIdError:
        raise ProtocolError(
            "The tool id is malformed.",
            f"tool_id {echo(tool_id)} must look like Toolkit.Name, Toolkit.Name@1 or "
            "Toolkit.Name@1.0.0.",
        ) from None
    except UnknownToolError as unknown:
        raise ProtocolError("Unknown tool.", f"tool_id {echo(tool_id)}: {unknown}.") from None


def _type_matches(expected: str, value: object) -> bool:
    """JSON Schema's types over Python's JSON values; ``bool`` is an ``int`` in Python, not here."""
    if expected in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False  # Python's json accepts NaN and Infinity; JSON Schema has no such number.
        return expected == "number" or isinstance(value, int) or value.is_integer()
    checks: Mapping[str, type | tuple[type, ...]] = {
        "string": str,
        "boolean": bool,
        "object": Mapping,
        "array": list,
        "null": type(None),
    }
    return isinstance(value, checks[expected])


def _check_value(spec: Mapping[str, Any], value: object) -> str | None:
    """Why ``value`` breaks the parameter's schema, or ``None``; only the keywords we declare."""
    declared = spec.get("type")
    if declared is not None:
        types = [declared] if isinstance(declared, str) else list(declared)
        if not any(_type_matches(expected, value) for expected in types):
            return "Expected " + " or ".join(_TYPES[t] for t in types) + "."
    if "enum" in spec and value not in spec["enum"]:
        return "Expected one of: " + ", ".join(map(str, spec["enum"])) + "."
    if isinstance(value, str):
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            return f"Length must be at most {spec['maxLength']}."
        if "minLength" in spec and len(value) < spec["minLength"]:
            return f"Length must be at least {spec['minLength']}."
    return None


def validate_input(parameters: Mapping[str, Any], tool_input: Mapping[str, Any]) -> dict[str, Any]:
    """The input with defaults applied, or :class:`InputValidationError` naming each bad parameter.

    Supports the subset our tools declare: ``type`` (object properties of type number, integer,
    string, boolean), ``enum``, ``minLength``/``maxLength``, ``required``, ``default`` and
    ``additionalProperties: false``. A real server with richer schemas would use ``jsonschema``.
    """
    properties: Mapping[str, Mapping[str, Any]] = parameters.get("properties", {})
    errors: dict[str, str] = {}
    for name in parameters.get("required", []):
        if name not in tool_input:
            errors[name] = "This parameter is required."
    if parameters.get("additionalProperties", True) is False:
        for name in tool_input:
            if name not in properties:
                errors[str(name)] = "Unknown parameter."
    validated: dict[str, Any] = {}
    for name, spec in properties.items():
        if name in tool_input:
            problem = _check_value(spec, tool_input[name])
            if problem is not None:
                errors[name] = problem
            validated[name] = tool_input[name]
        elif "default" in spec:
            validated[name] = spec["default"]
    if errors:
        raise InputValidationError(errors)
    return validated


def execute(
    tool: Tool, request: CallRequest, timer: Callable[[], float] = time.perf_counter
) -> dict[str, Any]:
    """Validate the input and run the tool: the ``result`` object of a 200 response.

    A :class:`ToolError` is the tool's own "no" and becomes ``success: false``. Any other
    exception is a bug in the tool: it is logged with its traceback, and the client gets a
    generic ``success: false`` with no exception text, which could leak internals.
    """
    arguments = validate_input(tool.parameters, request.input)
    started = timer()
    error: dict[str, Any] | None = None
    value: JSONValue = None
    try:
        value = tool.run(arguments)
    except ToolError as failure:
        error = {"message": failure.message, "can_retry": failure.can_retry}
        if failure.developer_message is not None:
            error["developer_message"] = failure.developer_message
    except Exception:
        logger.exception("tool %s failed on call %s", tool.id, request.call_id)
        error = {
            "message": "The tool failed unexpectedly.",
            "developer_message": f"Unhandled exception in {tool.id}; see the server log.",
            "can_retry": False,
        }
    duration = (timer() - started) * 1000.0
    result: dict[str, Any] = {"call_id": request.call_id, "duration": duration}
    if error is None:
        result.update(success=True, value=value)
    else:
        result.update(success=False, error=error)
    return result


def call_response(request: CallRequest, result: Mapping[str, Any]) -> dict[str, Any]:
    """Answer in the protocol version the client asked for."""
    return {"$schema": request.schema, "result": dict(result)}


def list_response(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$schema": LATEST_SCHEMA, "items": definitions}
