"""OTC tool server authentication for Flask: API keys, JWT bearer tokens, JSON 401s, limits."""

from __future__ import annotations

from .audit import AuditEvent, auth_failed, auth_succeeded, rate_limited
from .config import CONFIG_KEYS, Settings
from .context import current_identity, get_identity
from .exceptions import AuthFailure, OTCAuthConfigError
from .extension import OTCAuth
from .identity import Identity
from .keys import KeyRecord, generate_key, hash_key
from .responses import AuthError
from .view_decorators import check_scopes, exempt, require_auth

__all__ = [
    "CONFIG_KEYS",
    "AuditEvent",
    "AuthError",
    "AuthFailure",
    "Identity",
    "KeyRecord",
    "OTCAuth",
    "OTCAuthConfigError",
    "Settings",
    "auth_failed",
    "auth_succeeded",
    "check_scopes",
    "current_identity",
    "exempt",
    "generate_key",
    "get_identity",
    "hash_key",
    "rate_limited",
    "require_auth",
]
