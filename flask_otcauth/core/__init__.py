"""The part of flask-otcauth that decides, free of Flask, Werkzeug, Flask-Limiter and click.

Settings, methods, identities, refusals, keys, scopes, rate-limit and lock-out policy, audit
events, storage, caches and JOSE parsing live here. A framework adapter builds an
:class:`AuthRequest` from its request, asks a :class:`Gate`, and turns the identity or the
:class:`AuthFailure` into its own response; the Flask extension is one such adapter.
"""

from __future__ import annotations

from .audit import (
    AuditEvent,
    auth_failed,
    auth_succeeded,
    rate_limited,
    storage_recovered,
    storage_unavailable,
)
from .authenticator import Authenticator
from .config_keys import ConfigKey
from .gate import Gate, Requirement
from .identity import Identity
from .keys import KeyDirectory, KeyRecord, generate_key, hash_key
from .methods import BUILT_IN, AuthMethod, AuthRequest, Report, Scheme, Setup, TestRequest
from .ratelimit import RateLimits, own_rate_limits
from .refusals import REFUSALS, AuthFailure, OTCAuthConfigError, Refusal
from .settings import CONFIG_KEYS, Settings, config_keys, load_settings
from .storage import (
    MemoryStorage,
    RedisStorage,
    Storage,
    StorageForgot,
    StorageUnavailable,
    open_storage,
)

__all__ = [
    "BUILT_IN",
    "CONFIG_KEYS",
    "REFUSALS",
    "AuditEvent",
    "AuthFailure",
    "AuthMethod",
    "AuthRequest",
    "Authenticator",
    "ConfigKey",
    "Gate",
    "Identity",
    "KeyDirectory",
    "KeyRecord",
    "MemoryStorage",
    "OTCAuthConfigError",
    "RateLimits",
    "RedisStorage",
    "Refusal",
    "Report",
    "Requirement",
    "Scheme",
    "Settings",
    "Setup",
    "Storage",
    "StorageForgot",
    "StorageUnavailable",
    "TestRequest",
    "auth_failed",
    "auth_succeeded",
    "config_keys",
    "generate_key",
    "hash_key",
    "load_settings",
    "open_storage",
    "own_rate_limits",
    "rate_limited",
    "storage_recovered",
    "storage_unavailable",
]
