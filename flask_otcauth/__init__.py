"""OTC tool server authentication for Flask: API keys, JWT bearer tokens, JSON 401s, limits.

The names below load on first use (PEP 562), so that ``import flask_otcauth.core`` and
``import flask_otcauth.client`` load neither Flask nor Werkzeug, Flask-Limiter or click:
``from flask_otcauth import OTCAuth`` imports the Flask layer, ``from flask_otcauth import
Identity`` only the core.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .allowance import budget_status, report_cost
    from .context import current_identity, get_identity
    from .core.audit import (
        AuditEvent,
        auth_failed,
        auth_succeeded,
        cross_tenant_access,
        keys_stale,
        rate_limited,
        storage_recovered,
        storage_unavailable,
    )
    from .core.config_keys import ConfigKey
    from .core.gate import Requirement
    from .core.identity import Identity
    from .core.keys import KeyRecord, generate_key, hash_key
    from .core.methods.base import AuthMethod, AuthRequest, Report, Scheme, Setup, TestRequest
    from .core.policy import Policy
    from .core.refusals import AuthFailure, OTCAuthConfigError, Refusal
    from .core.settings import CONFIG_KEYS, Settings
    from .extension import OTCAuth
    from .responses import AuthError
    from .view_decorators import check_scopes, exempt, require_auth

# Where each public name lives: the core for what decides, the Flask layer for the rest.
_HOMES: Final = {
    "CONFIG_KEYS": ".core.settings",
    "AuditEvent": ".core.audit",
    "AuthError": ".responses",
    "AuthFailure": ".core.refusals",
    "AuthMethod": ".core.methods.base",
    "AuthRequest": ".core.methods.base",
    "ConfigKey": ".core.config_keys",
    "Identity": ".core.identity",
    "KeyRecord": ".core.keys",
    "OTCAuth": ".extension",
    "OTCAuthConfigError": ".core.refusals",
    "Policy": ".core.policy",
    "Refusal": ".core.refusals",
    "Report": ".core.methods.base",
    "Requirement": ".core.gate",
    "Scheme": ".core.methods.base",
    "Settings": ".core.settings",
    "Setup": ".core.methods.base",
    "TestRequest": ".core.methods.base",
    "auth_failed": ".core.audit",
    "auth_succeeded": ".core.audit",
    "budget_status": ".allowance",
    "check_scopes": ".view_decorators",
    "cross_tenant_access": ".core.audit",
    "current_identity": ".context",
    "exempt": ".view_decorators",
    "generate_key": ".core.keys",
    "get_identity": ".context",
    "hash_key": ".core.keys",
    "keys_stale": ".core.audit",
    "rate_limited": ".core.audit",
    "report_cost": ".allowance",
    "require_auth": ".view_decorators",
    "storage_recovered": ".core.audit",
    "storage_unavailable": ".core.audit",
}

__all__ = [
    "CONFIG_KEYS",
    "AuditEvent",
    "AuthError",
    "AuthFailure",
    "AuthMethod",
    "AuthRequest",
    "ConfigKey",
    "Identity",
    "KeyRecord",
    "OTCAuth",
    "OTCAuthConfigError",
    "Policy",
    "Refusal",
    "Report",
    "Requirement",
    "Scheme",
    "Settings",
    "Setup",
    "TestRequest",
    "auth_failed",
    "auth_succeeded",
    "budget_status",
    "check_scopes",
    "cross_tenant_access",
    "current_identity",
    "exempt",
    "generate_key",
    "get_identity",
    "hash_key",
    "keys_stale",
    "rate_limited",
    "report_cost",
    "require_auth",
    "storage_recovered",
    "storage_unavailable",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
