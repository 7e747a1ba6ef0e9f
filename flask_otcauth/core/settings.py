"""Settings: read once from ``app.config`` into a frozen object, or refused with a clear error.

Everything that can be wrong with a configuration is found here, at ``init_app``, so that a
misconfigured server never starts rather than failing open (or with a 500) on its first request.
Messages name the key and the fix, and never quote a secret. The general keys are declared
here; each method declares its own keys in its module, and :func:`load_settings` reads the keys
of every method it is given, then makes the checks that span several keys, in one place.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeVar, overload

from limits import RateLimitItem

from .budget_config import BUDGET_KEYS, BudgetSettings, read_budgets
from .config_keys import (
    ConfigKey,
    boolean,
    choice,
    listed,
    optional_boolean,
    rate_limit,
    refuse_unknown_keys,
    storage_uri,
    strings,
    timeout_seconds,
)
from .methods import BUILT_IN, NO_AUTH, AuthMethod, checked_methods
from .policy import ADDRESS_CLAIM_KEY, CLIENT_POLICIES_KEY, POLICY_KEYS, Policy
from .redis_clients import DEFAULT_TIMEOUT_SECONDS
from .refusals import OTCAuthConfigError
from .revocation_config import REVOCATION_KEYS, RevocationSettings, read_revocation
from .scopes import SCOPELESS_GRANTS, ScopeError, checked_scope
from .storage import NAMESPACE
from .tool_requirements import TOOL_SCOPES_KEY, TOOL_STEP_UP_KEY, ToolRequirements
from .tool_signing import TOOL_SIGNING_KEYS, ToolSigner, read_tool_signer

S = TypeVar("S")
DEFAULT_STRATEGY: Final = "fixed-window"
PER_PROCESS: Final = "per-process"
REFUSE: Final = "refuse"
METHODS: Final = (NO_AUTH, *(method.name for method in BUILT_IN))
"""The names ``OTC_AUTH_METHODS`` accepts out of the box."""

METHODS_KEY: Final = ConfigKey(
    "OTC_AUTH_METHODS", ["jwt", "api_key"],
    'Enabled methods in order of preference; ["none"] turns authentication off.',
    type="list[str]: " + ", ".join(METHODS),
    example=["api_key"],
    wrong='Unknown method (with the closest name), an empty list, a method named twice, or '
          '"none" mixed with other methods.',
    bad_example=["jwt", "apikey"], parse=strings)
RATELIMIT_KEY: Final = ConfigKey(
    "OTC_AUTH_RATELIMIT", "120/minute",
    "Requests per authenticated identity, across all protected views; None: off.",
    type="str | None (limits notation)", example="10/second;500/hour",
    wrong='Not a rate-limit string such as "120/minute".', bad_example="120 per minute please",
    parse=rate_limit)
FAILURE_RATELIMIT_KEY: Final = ConfigKey(
    "OTC_AUTH_FAILURE_RATELIMIT", "20/minute",
    "Failed attempts per client address before every attempt gets 429; None: off.",
    type="str | None (limits notation)", example="5/minute",
    wrong='Not a rate-limit string such as "20/minute".', bad_example=20, parse=rate_limit)
RATELIMIT_STORAGE_URI_KEY: Final = ConfigKey(
    "OTC_AUTH_RATELIMIT_STORAGE_URI", None,
    "Where the rate-limit counters live, as a limits storage URI; None (unset): memory://, one "
    "process's counters. redis://... shares them between workers and hosts. Leave it unset "
    "when you pass your own Limiter: its storage is used.",
    type="str | None (limits storage URI)", example="redis://127.0.0.1:6379/0",
    wrong="Not a URI, or a port that is not a number; and while a rate limit is on, a URI that "
          "names a storage the limits library cannot use (an unknown scheme, or its driver not "
          "installed), or the key set while OTCAuth is given a Limiter (configure the storage "
          "on the Limiter instead).",
    bad_example="redis://127.0.0.1:port/0", parse=storage_uri)
PROTECT_ALL_KEY: Final = ConfigKey(
    "OTC_AUTH_PROTECT_ALL", False, "Protect every view of the app; opt out with @auth.exempt.",
    type="bool", example=True, wrong="Not true or false.", bad_example=1, parse=boolean)
STORAGE_URI_KEY: Final = ConfigKey(
    "OTC_AUTH_STORAGE_URI", None,
    "Shared state (hmac nonces, and state of your own): memory:// or redis://...; None "
    "(unset): OTC_AUTH_RATELIMIT_STORAGE_URI's URI, else memory://.",
    type="str | None (memory://, redis://, redis+sentinel:// or redis+cluster://)",
    example="redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster",
    wrong="Not a URI, a port that is not a number, a kind other than memory or redis "
          "(memory://, redis://, rediss://, redis+unix://, redis+sentinel://, "
          "redis+cluster://), or a redis URI while redis-py is "
          "not installed (pip install 'flask-otcauth[redis]'). Checked at init_app in every "
          'configuration, whether or not "hmac" is enabled; unset, the checks apply to the '
          "OTC_AUTH_RATELIMIT_STORAGE_URI it falls back to, and the error names both keys.",
    bad_example="redis://127.0.0.1:port/0", parse=storage_uri)
REQUIRE_HTTPS_KEY: Final = ConfigKey(
    "OTC_AUTH_REQUIRE_HTTPS", None,
    "Refuse credentials sent over plain HTTP (403) and send Strict-Transport-Security; None: "
    "on unless DEBUG or TESTING.",
    type="bool | None", example=True, wrong="Not true, false or None.", bad_example="false",
    parse=optional_boolean)
# No glob character (a namespace is deleted with SCAN MATCH "<namespace>:*"), no trailing colon.
_NAMESPACE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.:-]{0,62}[A-Za-z0-9_.-])?")
# limits' storages that take key_prefix: its Redis family (redis, rediss, redis+unix,
# redis+cluster, redis+sentinel and their valkey spellings).
_PREFIXED_SCHEMES: Final = ("redis", "valkey")


def _namespace(value: Any, name: str) -> str:
    if not isinstance(value, str) or _NAMESPACE.fullmatch(value) is None:
        raise OTCAuthConfigError(f"{name} must be 1-64 letters, digits, '_', '.', '-' or ':' (not "
                                 "last), such as \"otcauth-staging\".")
    return value


STORAGE_NAMESPACE_KEY: Final = ConfigKey(
    "OTC_AUTH_STORAGE_NAMESPACE", NAMESPACE.removesuffix(":"),
    "Every key flask-otcauth writes to Redis starts with this and a colon: the shared "
    "storage's (hmac nonces), and the rate-limit counters on a Redis storage the extension "
    "builds (limits' key_prefix, unless RATELIMIT_STORAGE_OPTIONS sets one). Give each app "
    "that shares a Redis database with others a namespace of its own.",
    type="str (letters, digits, _ . - :)", example="otcauth-staging",
    wrong="Empty, longer than 64 characters, ending with ':', or with another character (a "
          "space, or a glob character such as '*').", bad_example="otcauth:*",
    parse=_namespace)


def _comma_list_hint(value: str) -> str:
    """The JSON list a comma-separated string (how an env var arrives) was meant to be."""
    return json.dumps([part for part in re.split(r"[,\s]+", value) if part])


def scope_grants(value: Any, name: str) -> frozenset[str]:
    """Granted scopes (wildcards allowed), as a list; a lone scope may stand alone."""
    if isinstance(value, str) and re.search(r"[,\s]", value.strip()):
        raise OTCAuthConfigError(f"{name} is one string with several scopes in it: write a "
                                 f"list, {_comma_list_hint(value)} (JSON in an environment "
                                 "variable).")
    granted = []
    for index, scope in enumerate(listed(value, name)):
        try:
            granted.append(checked_scope(scope))
        except ScopeError as error:
            raise OTCAuthConfigError(f"{name}[{index}]: {error}.") from None
    return frozenset(granted)


SCOPELESS_GRANTS_KEY: Final = ConfigKey(
    SCOPELESS_GRANTS, [],
    "What a credential that carries no scope information may do: a plain key or digest, a key "
    "record without scopes, a JWT with neither scope nor scp, an hmac client without scopes. "
    "A credential that carries scopes (even none) is held to exactly them. [] (the default): "
    "such a credential passes only views that require no scope.",
    type="list[str]: scopes, granted wildcards (tools:call:*) allowed",
    example=["tools:list", "tools:call:*"],
    wrong='Not a list of RFC 6749 scope tokens (visible ASCII without spaces, quotes or '
          'backslashes), or one string holding several ("tools:list,tools:call:*").',
    bad_example="tools:list,tools:call:*", parse=scope_grants)


STORAGE_TIMEOUT_KEY: Final = ConfigKey(
    "OTC_AUTH_STORAGE_TIMEOUT", DEFAULT_TIMEOUT_SECONDS,
    "Seconds a request waits for shared state (Redis): the connect and the socket timeout of "
    "every Redis client the extension opens (a dropped connection is retried once, a timeout "
    "never). After a timeout the server counts as down for this process: requests stop "
    "asking it (nonces 503, rate limits as OTC_AUTH_RATELIMIT_FALLBACK says) and one request "
    "a second probes it. Options in the URI's query string or RATELIMIT_STORAGE_OPTIONS win.",
    type="float (seconds, 0.01-5)", example=0.5,
    wrong="Not a number, or outside 0.01-5 seconds.", bad_example=0,
    parse=timeout_seconds(0.01, 5.0))
RATELIMIT_FALLBACK_KEY: Final = ConfigKey(
    "OTC_AUTH_RATELIMIT_FALLBACK", PER_PROCESS,
    'While the rate-limit storage does not answer: "per-process" counts in each worker '
    "process (a limit then allows up to the limit times the number of workers, and every "
    'count starts over when the storage is back empty); "refuse" answers 503 '
    "temporarily_unavailable with Retry-After instead, to every request the limits apply to.",
    type='str: "per-process" or "refuse"', example=REFUSE,
    wrong='Neither "per-process" nor "refuse".', bad_example="local",
    parse=choice(PER_PROCESS, REFUSE))
GENERAL_KEYS: Final = (METHODS_KEY, RATELIMIT_KEY, FAILURE_RATELIMIT_KEY,
                       RATELIMIT_STORAGE_URI_KEY, RATELIMIT_FALLBACK_KEY, PROTECT_ALL_KEY,
                       STORAGE_URI_KEY, STORAGE_NAMESPACE_KEY, STORAGE_TIMEOUT_KEY,
                       REQUIRE_HTTPS_KEY, SCOPELESS_GRANTS_KEY, *POLICY_KEYS)


def config_keys(methods: Iterable[AuthMethod[Any]] = BUILT_IN) -> tuple[ConfigKey, ...]:
    """The general keys, tool signing's and tool requirements', revocation's, budgets', then
    each method's, in the order given."""
    return (*GENERAL_KEYS, *TOOL_SIGNING_KEYS, TOOL_SCOPES_KEY, TOOL_STEP_UP_KEY,
            *REVOCATION_KEYS, *BUDGET_KEYS,
            *(key for method in methods for key in method.keys))


CONFIG_KEYS: Final = config_keys()
"""Every key of the built-in methods; ``auth.config_keys()`` adds an app's own methods."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration of one app. Never changes after ``init_app``.

    A method's own settings are read with :meth:`of` (``settings.of("jwt").audiences``).
    """

    methods: tuple[str, ...]
    ratelimit: tuple[RateLimitItem, ...]
    failure_ratelimit: tuple[RateLimitItem, ...]
    ratelimit_storage_uri: str | None
    protect_all: bool
    storage_uri: str
    storage_uri_setting: str  # which key the storage URI came from, for error messages
    require_https: bool
    storage_namespace: str = NAMESPACE.removesuffix(":")
    # Flask-Limiter's keys, read here so that nothing reads app.config after init_app.
    ratelimit_enabled: bool = True
    ratelimit_strategy: str = DEFAULT_STRATEGY
    ratelimit_storage_options: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}))
    storage_timeout: float = DEFAULT_TIMEOUT_SECONDS
    ratelimit_fallback: str = PER_PROCESS
    registered: tuple[AuthMethod[Any], ...] = BUILT_IN
    method_settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    scopeless_grants: frozenset[str] = frozenset()
    client_policies: Mapping[str, Policy] = field(default_factory=lambda: MappingProxyType({}))
    token_address_claim: str | None = None
    tool_signer: ToolSigner | None = None  # OTC_AUTH_TOOL_SIGNING on: the key and its cache
    revocation: RevocationSettings | None = None  # OTC_AUTH_REVOCATION on
    # OTC_AUTH_TOOL_SCOPES, OTC_AUTH_TOOL_STEP_UP, then the app's auth.tool(...) declarations.
    tool_requirements: ToolRequirements = field(default_factory=lambda: ToolRequirements(()))
    budgets: BudgetSettings = field(default_factory=BudgetSettings)  # budgets and tenants

    @property
    def auth_disabled(self) -> bool:
        return self.methods == (NO_AUTH,)

    @overload
    def of(self, method: AuthMethod[S]) -> S: ...
    @overload
    def of(self, method: str) -> Any: ...
    def of(self, method: AuthMethod[S] | str) -> S | Any:
        """The settings of ``method`` (an :class:`AuthMethod` or its name), enabled or not."""
        name = method if isinstance(method, str) else method.name
        return self.method_settings[name]

    @property
    def enabled(self) -> tuple[tuple[AuthMethod[Any], Any], ...]:
        """The enabled methods with their settings, in the order of ``OTC_AUTH_METHODS``."""
        by_name = {method.name: method for method in self.registered}
        return tuple((by_name[name], self.method_settings[name]) for name in self.methods
                     if name != NO_AUTH)


def load_settings(
    config: Mapping[str, Any], *, methods: Iterable[AuthMethod[Any]] = BUILT_IN,
    has_key_loader: bool = False, has_limiter: bool = False,
    limiter_storage_uri: str | None = None,
) -> Settings:
    """Validate the ``OTC_AUTH_*`` keys of ``config`` and build the settings, or raise.

    ``methods`` are the registered methods, whose keys are read whether or not they are
    enabled. ``has_key_loader``: records come from an ``api_key_loader``, so no configured key
    is fine. ``has_limiter``: the app gave OTCAuth a Flask-Limiter, whose storage
    (``limiter_storage_uri``, else ``RATELIMIT_STORAGE_URI``) the shared storage follows.
    """
    registered = checked_methods(methods)
    refuse_unknown_keys(config, config_keys(registered))
    enabled = _methods(METHODS_KEY.read(config), registered)
    context = MappingProxyType({"has_key_loader": has_key_loader})
    method_settings: dict[str, Any] = {}
    for method in registered:
        settings = method.read_settings(lambda key: key.read(config), context)
        if method.name in enabled:
            method.check_enabled(settings, context)
        method_settings[method.name] = settings
    _refuse_shared_secrets(registered, method_settings)
    ratelimit = RATELIMIT_KEY.read(config)
    failure_ratelimit = FAILURE_RATELIMIT_KEY.read(config)
    ratelimit_storage = RATELIMIT_STORAGE_URI_KEY.read(config)
    if has_limiter and ratelimit_storage is not None and (ratelimit or failure_ratelimit):
        raise OTCAuthConfigError(
            "OTC_AUTH_RATELIMIT_STORAGE_URI is set, but OTCAuth was given a Limiter: its "
            "storage is used. Configure the storage on the Limiter and remove the key.")
    shared, shared_setting = _shared_storage(config, ratelimit_storage, has_limiter,
                                             limiter_storage_uri)
    require_https = REQUIRE_HTTPS_KEY.read(config)
    if require_https is None:  # on by default, off only where a developer works
        require_https = not (config.get("DEBUG") or config.get("TESTING"))
    namespace = STORAGE_NAMESPACE_KEY.read(config)
    storage_options = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    if (ratelimit_storage or "").lower().startswith(_PREFIXED_SCHEMES):
        storage_options.setdefault("key_prefix", namespace)
    return Settings(
        methods=enabled, ratelimit=ratelimit, failure_ratelimit=failure_ratelimit,
        ratelimit_storage_uri=ratelimit_storage, protect_all=PROTECT_ALL_KEY.read(config),
        storage_uri=shared, storage_uri_setting=shared_setting, require_https=require_https,
        storage_namespace=namespace,
        ratelimit_enabled=bool(config.get("RATELIMIT_ENABLED", True)),
        ratelimit_strategy=config.get("RATELIMIT_STRATEGY") or DEFAULT_STRATEGY,
        ratelimit_storage_options=MappingProxyType(storage_options),
        storage_timeout=STORAGE_TIMEOUT_KEY.read(config),
        ratelimit_fallback=RATELIMIT_FALLBACK_KEY.read(config),
        registered=registered, method_settings=MappingProxyType(method_settings),
        scopeless_grants=SCOPELESS_GRANTS_KEY.read(config),
        client_policies=MappingProxyType(dict(CLIENT_POLICIES_KEY.read(config))),
        token_address_claim=ADDRESS_CLAIM_KEY.read(config),
        tool_signer=read_tool_signer(config),
        revocation=read_revocation(config, **_token_bounds(method_settings)),
        tool_requirements=TOOL_SCOPES_KEY.read(config).with_rules(
            TOOL_STEP_UP_KEY.read(config).rules),
        budgets=read_budgets(config),
    )


def _token_bounds(method_settings: Mapping[str, Any]) -> dict[str, int]:
    """The longest lifetime and leeway any token method allows: how long a revocation entry
    must outlive the tokens it refuses."""
    lifetimes, leeways = [0], [0]
    for own in method_settings.values():
        for bound in (own, *getattr(own, "issuers", ())):
            lifetime, leeway = getattr(bound, "max_lifetime", None), getattr(bound, "leeway", None)
            if isinstance(lifetime, int):
                lifetimes.append(lifetime)
            if isinstance(leeway, int):
                leeways.append(leeway)
    return {"max_lifetime": max(lifetimes), "leeway": max(leeways)}


def _methods(methods: tuple[str, ...], registered: tuple[AuthMethod[Any], ...]
             ) -> tuple[str, ...]:
    known = (NO_AUTH, *(method.name for method in registered))
    if len(methods) == 1 and re.search(r"[,\s]", methods[0].strip()):
        raise OTCAuthConfigError(
            f'OTC_AUTH_METHODS is the one string "{methods[0]}": write a list, '
            f"{_comma_list_hint(methods[0])} (JSON in an environment variable).")
    if not methods:
        raise OTCAuthConfigError('OTC_AUTH_METHODS is empty: name at least one method, or ["none"]'
                                 " to turn authentication off.")
    for method in methods:
        if method not in known:
            close = difflib.get_close_matches(method, known, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            raise OTCAuthConfigError(f'OTC_AUTH_METHODS names unknown method "{method}".{hint} '
                                     f"Known methods: {', '.join(known)}.")
    if len(set(methods)) != len(methods):
        raise OTCAuthConfigError("OTC_AUTH_METHODS names a method twice.")
    if NO_AUTH in methods and len(methods) > 1:
        raise OTCAuthConfigError('OTC_AUTH_METHODS mixes "none" with other methods: "none" turns '
                                 'authentication off, so it must stand alone (["none"]).')
    return methods


def _refuse_shared_secrets(registered: tuple[AuthMethod[Any], ...],
                           method_settings: Mapping[str, Any]) -> None:
    """One secret for two methods would let a holder of one credential forge the other."""
    seen: dict[bytes, tuple[str, str]] = {}
    for method in registered:
        for where, digest in method.secrets(method_settings[method.name]):
            earlier = seen.get(digest)
            if earlier is not None and earlier[0] != method.name:
                raise OTCAuthConfigError(
                    f'{where} is also configured as a secret of "{earlier[0]}" ({earlier[1]}): '
                    "give every method, and every client, a secret of its own.")
            seen.setdefault(digest, (method.name, where))


def _shared_storage(
    config: Mapping[str, Any], ratelimit_storage: str | None, has_limiter: bool,
    limiter_storage_uri: str | None,
) -> tuple[str, str]:
    """The shared storage's URI and the setting it comes from: ``OTC_AUTH_STORAGE_URI``, else
    the rate-limit storage, a given Limiter's included, so one Redis setting covers all."""
    own = STORAGE_URI_KEY.read(config)
    if own is not None:
        return own, STORAGE_URI_KEY.name
    if has_limiter:
        # Flask-Limiter keeps a storage_uri= argument, else reads RATELIMIT_STORAGE_URI.
        uri = limiter_storage_uri or config.get("RATELIMIT_STORAGE_URI")
        if isinstance(uri, str) and uri:
            return uri, "the given Limiter's storage URI (OTC_AUTH_STORAGE_URI unset)"
    if ratelimit_storage is not None:
        return ratelimit_storage, "OTC_AUTH_RATELIMIT_STORAGE_URI (OTC_AUTH_STORAGE_URI unset)"
    return "memory://", STORAGE_URI_KEY.name
