"""OTC tool server authentication for Flask: API keys, JWT bearer tokens, JSON 401s, limits."""

from __future__ import annotations

from .audit import AuditEvent, auth_failed, auth_succeeded, rate_limited
from .config import CONFIG_KEYS, Settings
from .context import current_identity, get_identity
from .exceptions import AuthFailure, OTCAuthConfigError
from .extension import OTCAuth
from .identity import Identity
from .responses import AuthError
from .view_decorators import exempt, require_auth

__all__ = [
    "CONFIG_KEYS",
    "AuditEvent",
    "AuthError",
    "AuthFailure",
    "Identity",
    "OTCAuth",
    "OTCAuthConfigError",
    "Settings",
    "auth_failed",
    "auth_succeeded",
    "current_identity",
    "exempt",
    "get_identity",
    "rate_limited",
    "require_auth",
]
