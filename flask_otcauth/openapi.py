"""How a server documents its authentication methods in OpenAPI 3.1 (the spec: servers MUST).

Free of Flask: one table maps each method of ``OTC_AUTH_METHODS`` to the OpenAPI security
scheme that describes it, built from the validated settings. A new method adds one entry to
:data:`SECURITY_SCHEMES`; a test refuses a method without one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .config import Settings

SchemeObject = dict[str, Any]
SecurityRequirement = dict[str, list[str]]


def _jwt(settings: Settings) -> SchemeObject:
    audience = ("When present, `aud` must name one of the allowed clients." if not
                settings.jwt_require_audience else "`aud` is required and must name one of the "
                "allowed clients.")
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "OTC JWT bearer token authentication: `Authorization: Bearer <JWT>`, signed with the "
            "shared secret using HS256. The `exp` claim is required and may be at most "
            f"{settings.jwt_max_lifetime} seconds in the future. {audience} Missing, invalid "
            "or expired tokens are rejected with 401 Unauthorized."
        ),
    }


def _api_key(settings: Settings) -> SchemeObject:
    header, *aliases = settings.api_key_headers
    also = f" (also accepted in: {', '.join(aliases)})" if aliases else ""
    return {
        "type": "apiKey",
        "in": "header",
        "name": header,
        "description": (
            f"OTC API key authentication: the static key in the `{header}` header{also} with "
            "each request, over HTTPS only. Missing or invalid keys are rejected with 401 "
            "Unauthorized."
        ),
    }


def _hmac(settings: Settings) -> SchemeObject:
    # OpenAPI has no type for RFC 9421 signatures; apiKey-in-header names the header it rides in.
    return {
        "type": "apiKey",
        "in": "header",
        "name": "Signature",
        "description": (
            "HTTP Message Signatures (RFC 9421), hmac-sha256 with the client's shared secret: "
            "`Signature-Input` with keyid (the client id), created, nonce and "
            'alg="hmac-sha256" covering "@method" "@authority" "@path" "@query" '
            '"content-digest"; `Signature`; and `Content-Digest` (RFC 9530, sha-256 of the '
            f"exact body). Signatures older than {settings.hmac_max_age} seconds and reused "
            "nonces are rejected with 401 Unauthorized."
        ),
    }


SECURITY_SCHEMES: Final[Mapping[str, Callable[[Settings], SchemeObject]]] = {
    "jwt": _jwt,
    "api_key": _api_key,
    "hmac": _hmac,
}


def security_schemes(settings: Settings) -> dict[str, SchemeObject]:
    """``components.securitySchemes`` for the enabled methods, named after each method."""
    if settings.auth_disabled:
        return {}
    return {method: SECURITY_SCHEMES[method](settings) for method in settings.methods}


def security_requirement(settings: Settings) -> list[SecurityRequirement]:
    """The ``security`` of a protected operation: any one enabled method satisfies it.

    An empty list, OpenAPI's "no authentication", when authentication is off.
    """
    if settings.auth_disabled:
        return []
    return [{method: []} for method in settings.methods]
