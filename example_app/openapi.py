"""The OpenAPI 3.1 document of this tool server: the OTC endpoints plus the extension's schemes.

Free of Flask: the route passes in what ``auth.openapi_security_schemes()`` and
``auth.openapi_security()`` return, so the document always names the methods the running
server actually enables, and ``/health`` (open to all) says so with an empty ``security``.
"""

from __future__ import annotations

from typing import Any, Final

from .protocol import LATEST_SCHEMA, SUPPORTED_SCHEMAS

_REF = "#/components/schemas/"
_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


SCHEMAS: Final[dict[str, Any]] = {
    "ToolDefinition": {
        "type": "object",
        "required": ["id", "name", "description", "version", "input_schema"],
        "properties": {
            "id": {"type": "string", "examples": ["Math.Add@1.0.0"]},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "version": {"type": "string"},
            "input_schema": {
                "type": "object",
                "properties": {"parameters": {"type": "object"}},
            },
            "output_schema": {"type": ["object", "null"]},
        },
    },
    "ListToolsResponse": {
        "type": "object",
        "required": ["$schema", "items"],
        "properties": {
            "$schema": {"type": "string", "const": LATEST_SCHEMA},
            "items": {"type": "array", "items": _ref("ToolDefinition")},
            "signatures": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "With OTC_AUTH_TOOL_SIGNING on: each item's detached JWS by "
                               "tool id, keys at /.well-known/otc-tool-keys.json.",
            },
        },
    },
    "CallToolRequest": {
        "type": "object",
        "required": ["request"],
        "properties": {
            "$schema": {"type": "string", "enum": list(SUPPORTED_SCHEMAS)},
            "request": {
                "type": "object",
                "required": ["tool_id"],
                "properties": {
                    "tool_id": {"type": "string", "examples": ["Math.Add"]},
                    "call_id": {"type": "string"},
                    "trace_id": {"type": "string"},
                    "input": {"type": "object"},
                    "context": {"type": "object"},
                },
            },
        },
    },
    "CallToolResponse": {
        "type": "object",
        "required": ["$schema", "result"],
        "properties": {
            "$schema": {"type": "string", "enum": list(SUPPORTED_SCHEMAS)},
            "result": {
                "type": "object",
                "required": ["call_id", "duration", "success"],
                "properties": {
                    "call_id": {"type": "string"},
                    "duration": {"type": "number", "description": "Milliseconds."},
                    "success": {"type": "boolean"},
                    "value": {},
                    "error": {
                        "type": "object",
                        "required": ["message"],
                        "properties": {
                            "message": {"type": "string"},
                            "developer_message": {"type": "string"},
                            "can_retry": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
    "ServerErrorResponse": {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string"},
            "developer_message": {"type": "string"},
        },
    },
    "ValidationErrorResponse": {
        "type": "object",
        "required": ["message", "parameter_errors"],
        "properties": {
            "message": {"type": "string"},
            "parameter_errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "AuthErrorResponse": {
        "type": "object",
        "required": ["error", "message", "developer_message"],
        "properties": {
            "error": {
                "type": "string",
                "examples": ["missing_credentials", "invalid_token", "invalid_api_key",
                             "invalid_signature", "https_required", "insufficient_scope",
                             "ip_not_allowed", "outside_allowed_hours", "endpoint_not_allowed",
                             "rate_limited", "too_many_failed_attempts",
                             "key_lookup_unavailable", "temporarily_unavailable",
                             "invalid_dpop_proof", "use_dpop_nonce", "credential_revoked",
                             "invalid_client_certificate", "untrusted_certificate_header",
                             "invalid_tool_call", "insufficient_user_authentication",
                             "authentication_context_required", "budget_exhausted",
                             "tenant_mismatch", "tenant_required", "missing_tenant"],
            },
            "message": {"type": "string"},
            "developer_message": {"type": "string"},
        },
    },
}

_REFUSALS: Final[dict[str, Any]] = {
    "401": _json(_ref("AuthErrorResponse"),
                 "Missing, invalid or revoked (credential_revoked) credentials; "
                 "WWW-Authenticate names each accepted method."),
    "403": _json(_ref("AuthErrorResponse"),
                 "Credentials sent over plain HTTP, a caller without the scope required, one "
                 "its access policy does not allow here (address, hours, endpoint or tool), or "
                 "one of another tenant (tenant_mismatch, tenant_required)."),
    "429": _json(_ref("AuthErrorResponse"),
                 "Rate limited, or the budget is used up (budget_exhausted); Retry-After says "
                 "when to come back."),
    "503": _json(_ref("AuthErrorResponse"),
                 "A check that must fail closed cannot be made: the API key store did not "
                 "answer (key_lookup_unavailable) or the nonce store did not "
                 "(temporarily_unavailable); Retry-After says when to try again."),
}


def openapi_document(
    security_schemes: dict[str, Any], security: list[dict[str, list[str]]], *, version: str
) -> dict[str, Any]:
    """The whole document; ``security`` applies to every operation except ``/health``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "flask-otcauth example tool server",
            "version": version,
            "description": "An OTC/OXP 1.0 tool server. Authentication methods supported: "
            + (", ".join(security_schemes) or "none (authentication is off)") + ".",
        },
        "security": security,
        "paths": {
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness probe, open to every caller.",
                    "security": [],
                    "responses": {"200": _json(
                        {"type": "object", "properties": {"status": {"const": "ok"}}}, "Up.")},
                },
            },
            "/tools": {
                "get": {
                    "operationId": "listTools",
                    "summary": "List the tools this server offers.",
                    "responses": {"200": _json(_ref("ListToolsResponse"), "The tools."),
                                  **_REFUSALS},
                },
            },
            "/tenants/{tenant}/usage": {
                "get": {
                    "operationId": "tenantUsage",
                    "summary": "What the caller has left of its budgets (free: it spends none).",
                    "parameters": [{"name": "tenant", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json({"type": "object", "properties": {
                            "tenant": {"type": "string"}, "caller": {"type": ["string", "null"]},
                            "budgets": {"type": "array", "items": {"type": "object"}}}},
                            "The caller's budgets, as the RateLimit fields report them."),
                        "400": _json(_ref("AuthErrorResponse"), "No tenant named."),
                        **_REFUSALS,
                    },
                },
            },
            "/tools/call": {
                "post": {
                    "operationId": "callTool",
                    "summary": "Call one tool.",
                    "requestBody": {"required": True,
                                    "content": {_JSON: {"schema": _ref("CallToolRequest")}}},
                    "responses": {
                        "200": _json(_ref("CallToolResponse"),
                                     "The result, successful or not (success: false)."),
                        "400": _json(_ref("ServerErrorResponse"),
                                     "Malformed request or unknown tool (a tool id of "
                                     "no OXP form is the extension's invalid_tool_call)."),
                        **_REFUSALS,
                        "422": _json(_ref("ValidationErrorResponse"),
                                     "The input does not match the tool's parameters."),
                    },
                },
            },
        },
        "components": {"schemas": SCHEMAS, "securitySchemes": security_schemes},
    }
