"""The Flask extension: settings per app, the request hooks, and the one path a request takes.

extract credentials -> verify -> identity -> authorize -> rate-limit -> view. The verifying
itself is done by the Flask-free :class:`~flask_otcauth.authenticator.Authenticator`; this
module only feeds it the request and turns its verdict into ``g`` or a response.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.errors import ConfigurationError

from .audit import (
    RequestFacts,
    record_refusal,
    record_success,
    refusal_audited,
    successes_audited,
)
from .authenticator import Authenticator
from .cli import otcauth_cli
from .config import Settings, load_settings
from .context import IDENTITY_ATTR, VERIFIED_ATTR, Requirement
from .exceptions import AuthFailure, OTCAuthConfigError
from .headers import header_reader
from .identity import NO_AUTH_IDENTITY, Identity
from .keys import KeyLoader
from .openapi import SchemeObject, SecurityRequirement, security_requirement, security_schemes
from .ratelimit import RateLimits, build_strategy
from .responses import AuthError
from .schemes import AuthRequest, build_schemes
from .schemes.base import REALM
from .scopes import scope_challenge, scope_failure
from .storage import Storage, open_storage
from .target import target_uri
from .transport import install_hsts, refuse_plain_http
from .view_decorators import EXEMPT_ATTR, REQUIREMENT_ATTR, exempt, preflight, require_auth

if TYPE_CHECKING:
    from collections.abc import Iterable

    from flask import Request
    from werkzeug.sansio.response import Response

_DEFAULT = Requirement()


def _no_hook() -> None:
    return None


@dataclass
class _AppState:
    """Everything OTCAuth keeps for one app; built once by ``init_app``."""

    settings: Settings
    authenticator: Authenticator
    rate_limits: RateLimits | None
    limiter: Limiter | None
    storage: Storage
    start_request: Callable[[], Response | None] = field(default=_no_hook, repr=False)
    views_checked: bool = field(default=False)
    # Read on every request: plain attributes, no property call.
    auth_disabled: bool = field(init=False)
    require_https: bool = field(init=False)
    protect_all: bool = field(init=False)
    methods: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.methods = self.settings.methods
        self.auth_disabled = self.settings.auth_disabled
        self.require_https = self.settings.require_https
        self.protect_all = self.settings.protect_all

    def methods_for(self, requirement: Requirement) -> tuple[str, ...]:
        enabled = self.settings.methods
        if requirement.methods is None or self.auth_disabled:
            return enabled  # ["none"] opens every view, whatever it names: the local-work switch
        unknown = [m for m in requirement.methods if m not in enabled]
        if unknown:
            raise OTCAuthConfigError(
                f"require_auth(methods={list(requirement.methods)}) names {unknown}, which "
                f"OTC_AUTH_METHODS ({list(enabled)}) does not enable.")
        return tuple(m for m in enabled if m in requirement.methods)


class OTCAuth:
    """OTC server authentication for a Flask app (``OTCAuth(app)`` or ``init_app(app)``).

    One instance may serve several apps; each keeps its own settings, read once from its
    ``app.config`` and never changed after.
    """

    require_auth = staticmethod(require_auth)
    exempt = staticmethod(exempt)

    def __init__(
        self,
        app: Flask | None = None,
        *,
        limiter: Limiter | None = None,
        api_key_loader: KeyLoader | None = None,
    ) -> None:
        self._limiter = limiter
        self._key_loader = api_key_loader
        self._initialized = False
        # By id(app), dropped when the app is collected (see init_app): a plain dictionary
        # lookup per request, and no reference that keeps an app alive.
        self._states: dict[int, _AppState] = {}
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, limiter: Limiter | None = None) -> None:
        """Validate ``app.config`` (raising :class:`OTCAuthConfigError`) and install the hooks."""
        self._initialized = True
        settings = load_settings(app.config, has_key_loader=self._key_loader is not None)
        limiter = limiter or self._limiter
        rate_limits, limiter = _rate_limits(app, settings, limiter)
        # Opened here, so a wrong URI fails init_app (a Redis client connects on first use).
        storage_uri, storage_setting = _storage_uri(app, settings, limiter)
        shared_storage = open_storage(storage_uri, setting=storage_setting)
        previous = self._states.get(id(app))
        if previous is None:
            weakref.finalize(app, self._states.pop, id(app), None)
        state = self._states[id(app)] = _AppState(
            settings=settings,
            authenticator=Authenticator(
                build_schemes(settings, self._key_loader, shared_storage)),
            rate_limits=rate_limits,
            limiter=limiter,
            storage=shared_storage,
        )
        app.extensions["otcauth"] = self
        if settings.require_https:
            install_hsts(app)
        # First of all hooks, so nothing can read an identity left over in g.
        hooks = app.before_request_funcs.setdefault(None, [])
        if previous is not None and previous.start_request in hooks:
            hooks.remove(previous.start_request)
        state.start_request = self._request_starter(app, state)
        hooks.insert(0, state.start_request)
        if "otcauth" not in app.cli.commands:
            app.cli.add_command(otcauth_cli)

    def api_key_loader(self, loader: KeyLoader) -> KeyLoader:
        """Register the function that finds an API key's record, e.g. in the app's database.

        It receives ``"sha256:<hex>"`` (never the key) and returns the record with that
        ``hash`` (a dict like an ``OTC_AUTH_API_KEYS`` record, or a ``KeyRecord``) or ``None``.
        Answers are cached (``OTC_AUTH_API_KEY_CACHE_TTL``); an exception answers 503
        ``key_lookup_unavailable``. Register it before ``init_app``: settings do not change
        after setup.
        """
        if self._initialized:
            raise RuntimeError("Register @auth.api_key_loader before init_app(app), or pass "
                               "OTCAuth(api_key_loader=...).")
        self._key_loader = loader
        return loader

    @property
    def registered_key_loader(self) -> KeyLoader | None:
        return self._key_loader

    def settings(self, app: Flask | None = None) -> Settings:
        """The validated settings of ``app`` (default: the current app)."""
        return self._state(app).settings

    def limiter(self, app: Flask | None = None) -> Limiter:
        """A Flask-Limiter on the same storage, to add limits of the app's own.

        The one given to ``OTCAuth``, whose strategy our limits count with; else one made on
        first call (during setup: it installs request hooks) with the app's storage URI.
        """
        target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
        state = self._state(target)
        if state.limiter is None:
            state.limiter = Limiter(get_remote_address,
                                    storage_uri=state.settings.ratelimit_storage_uri or "memory://")
            state.limiter.init_app(target)
        return state.limiter

    def storage(self, app: Flask | None = None) -> Storage:
        """The shared storage of ``app`` (``OTC_AUTH_STORAGE_URI``): nonces, and state of yours."""
        return self._state(app).storage

    def openapi_security_schemes(self, app: Flask | None = None) -> dict[str, SchemeObject]:
        """OpenAPI 3.1 ``components.securitySchemes`` for the methods ``app`` enables."""
        return security_schemes(self._state(app).settings)

    def openapi_security(self, app: Flask | None = None) -> list[SecurityRequirement]:
        """The OpenAPI ``security`` requirement of a protected view: any enabled method."""
        return security_requirement(self._state(app).settings)

    def protect(self, blueprint: Blueprint) -> None:
        """Require authentication on every view of ``blueprint`` (``@auth.exempt`` opts out)."""
        blueprint.before_request(self._guard_request)

    def verify_request(
        self, *, methods: Iterable[str] | None = None, optional: bool = False
    ) -> Identity | None:
        """The identity of the current request, or raise :class:`AuthError` (401/403/429)."""
        requirement = Requirement(tuple(methods) if methods is not None else None, optional)
        return self._authenticate(self._state(), requirement)

    def refuse(
        self, requirement: Requirement, app: Flask | None = None,
        current_request: Request | None = None, request_globals: Any = None,
    ) -> Response | None:
        """The error response for the current request, or ``None`` once it is authenticated."""
        state = self._states.get(id(app)) if app is not None else None
        try:
            self._authenticate(state or self._state(app), requirement, current_request,
                               request_globals)
        except AuthError as error:
            return error.get_response()
        return None

    def authorize(self, scopes: tuple[str, ...] = (), any_scopes: tuple[str, ...] = ()) -> None:
        """Raise the 403 :class:`AuthError` unless this request's caller holds the scopes.

        A request nobody authenticated yet (an anonymous caller of an optional view, or a view
        without ``require_auth``) is authenticated first, so it gets the usual 401.
        """
        state = self._state()
        requirement = Requirement(scopes=scopes, any_scopes=any_scopes)
        identity: Identity | None = g.get(IDENTITY_ATTR)
        if identity is None:
            self._authenticate(state, requirement)  # verifies, then authorizes
            return
        self._authorize(state, identity, requirement)

    def _state(self, app: Flask | None = None) -> _AppState:
        target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._states[id(target)]
        except KeyError:
            raise RuntimeError("OTCAuth.init_app(app) was not called for this app.") from None

    def _request_starter(self, app: Flask, state: _AppState) -> Callable[[], Response | None]:
        """The app's first ``before_request`` hook; a function of its own state, as every
        request of every app pays for it (no lookup of the app or its settings)."""
        app_ref = weakref.ref(app)

        def start_request() -> Response | None:
            # Forget any identity g still holds: pytest-flask, or an app context pushed at
            # start-up, keeps one g across requests.
            request_globals = g._get_current_object()
            setattr(request_globals, IDENTITY_ATTR, None)
            setattr(request_globals, VERIFIED_ATTR, None)
            if not state.views_checked:
                started = app_ref()
                if started is not None:
                    _check_view_requirements(state, started.view_functions.values())
                state.views_checked = True
            if state.protect_all:
                return self._guard_request()
            return None

        return start_request

    def _guard_request(self) -> Response | None:
        """The hook behind ``OTC_AUTH_PROTECT_ALL`` and :meth:`protect`."""
        endpoint = request.endpoint
        if endpoint is None:
            # No route: 401 before 404, for OPTIONS too, so no method can probe which URLs exist.
            return self.refuse(_DEFAULT)
        if endpoint == "static" or endpoint.endswith(".static"):
            return None
        view = current_app.view_functions.get(endpoint)
        # A view with its own @require_auth is checked there, with its own requirement.
        if getattr(view, EXEMPT_ATTR, False) or hasattr(view, REQUIREMENT_ATTR):
            return None
        if request.method == "OPTIONS":
            return preflight()
        return self.refuse(_DEFAULT)

    def _authenticate(  # noqa: PLR0912 - the request's one path, in one frame on purpose
        self, state: _AppState, requirement: Requirement, current_request: Request | None = None,
        request_globals: Any = None,
    ) -> Identity | None:
        """extract -> verify -> identity -> authorize -> rate-limit; the identity goes on ``g``.

        One frame: every request pays for each call made here, so the rare steps (a second
        check of the same request, refusals, scopes, limits) are the ones that call out.
        """
        if request_globals is None:
            request_globals = g._get_current_object()
        methods = state.methods if requirement.methods is None else state.methods_for(requirement)
        if getattr(request_globals, VERIFIED_ATTR, None) == methods:
            identity: Identity | None = getattr(request_globals, IDENTITY_ATTR)
            if identity is not None:
                self._authorize(state, identity, requirement)
                return identity
            if requirement.optional:
                return identity
        if current_request is None:
            current_request = request._get_current_object()  # type: ignore[attr-defined]
        identity = None
        try:
            if state.auth_disabled:
                identity = NO_AUTH_IDENTITY
            else:
                auth_request = AuthRequest(header_reader(current_request.environ),
                                           current_request.method, target_uri, _request_body)
                if state.require_https:
                    refuse_plain_http(state.authenticator, auth_request, methods)
                try:
                    identity = state.authenticator.authenticate(
                        auth_request, methods, optional=requirement.optional, now=time.time())
                except AuthFailure as failure:
                    if state.rate_limits is not None:
                        _count_failure(state.rate_limits, failure, _address(current_request))
                    raise
            if requirement.scopes or requirement.any_scopes:
                _raise_if_unauthorized(state, identity, requirement, _address(current_request))
            if state.rate_limits is not None:
                _spend(state, identity, _address(current_request))
        except AuthFailure as failure:
            if refusal_audited(failure):  # else nothing is built for the audit trail
                record_refusal(_app(), failure,
                               functools.partial(_request_facts, _address(current_request)),
                               identity)
            raise _error(state, methods, failure) from None
        if identity is not None and successes_audited():  # else not even the app is looked up
            record_success(_app(), identity,
                           functools.partial(_request_facts, _address(current_request)))
        setattr(request_globals, IDENTITY_ATTR, identity)
        setattr(request_globals, VERIFIED_ATTR, methods)
        return identity

    def _authorize(self, state: _AppState, identity: Identity, requirement: Requirement) -> None:
        try:
            _raise_if_unauthorized(state, identity, requirement)
        except AuthFailure as failure:
            record_refusal(_app(), failure, _request_facts, identity)
            raise _error(state, state.settings.methods, failure) from None


def _spend(state: _AppState, identity: Identity | None, address: str) -> None:
    """The rate-limit step: one request of the caller's budget, unless its address is locked out
    by failures."""
    limits = state.rate_limits
    if limits is None:
        return
    key = identity.rate_limit_key if identity is not None else None
    caller = key if key is not None else f"address:{address}"
    if state.auth_disabled:
        limits.count_request(caller)  # no credentials, so no failures to check
    else:
        limits.admit(address, caller)  # the lock-out check and the count, together


def _address(current_request: Request) -> str:
    """The client address the limits count: read only when something counts or reports it."""
    return current_request.remote_addr or "unknown"


def _count_failure(limits: RateLimits, failure: AuthFailure, address: str) -> None:
    if failure.status == 401:
        limits.record_failure(address)  # 429 if locked out already
    else:
        # A failing key or nonce store (503) is the server's trouble, not an attempt to count;
        # a locked-out address still learns nothing but 429.
        limits.refuse_if_failing(address)


def _app() -> Flask:
    """The sender of the audit signals, as Flask's own signals send it."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _request_facts(address: str | None = None) -> RequestFacts:
    """What the audit trail says of the current request; built only when someone listens."""
    return RequestFacts(http_method=request.method, path=request.path,
                        client_address=address or request.remote_addr or "unknown")


def _request_body() -> bytes:
    """The exact bytes received, kept for the view (werkzeug parses forms from the cache)."""
    return request.get_data(cache=True)


def _raise_if_unauthorized(
    state: _AppState, identity: Identity | None, requirement: Requirement,
    address: str | None = None,
) -> None:
    """The authorize step: scopes are checked once the caller is known, before counting.

    With ``address`` (the first check of a request), a 403 is only answered to an address that
    is not locked out by failures: to a locked-out one it would tell that the key was valid.
    """
    if identity is None or state.auth_disabled or not (
            requirement.scopes or requirement.any_scopes):
        return  # anonymous callers only reach views without scopes (require_auth ensures it)
    failure = scope_failure(identity.scopes, requirement.scopes, requirement.any_scopes)
    if failure is not None:
        if address is not None and state.rate_limits is not None:
            state.rate_limits.refuse_if_failing(address)
        raise failure


def _error(state: _AppState, methods: tuple[str, ...], failure: AuthFailure) -> AuthError:
    """The response of a refusal: 401s challenge for every accepted method, a 403 names scopes."""
    if failure.status == 401:
        return AuthError(failure, state.authenticator.challenges(methods, failure))
    if failure.required_scopes:  # a 403 for scopes; https_required challenges nothing
        return AuthError(failure, [scope_challenge(failure, REALM)])
    return AuthError(failure)


def _check_view_requirements(state: _AppState, views: Iterable[Any]) -> None:
    """Refuse a view that asks for a method the app does not enable, at the first request."""
    for view in views:
        requirement = getattr(view, REQUIREMENT_ATTR, None)
        if isinstance(requirement, Requirement):
            state.methods_for(requirement)


def _storage_uri(app: Flask, settings: Settings, limiter: Limiter | None) -> tuple[str, str]:
    """The shared storage's URI and the setting it comes from: ``OTC_AUTH_STORAGE_URI``, else
    the rate-limit storage, the given Limiter's included, so one Redis setting covers all."""
    if limiter is not None and app.config.get("OTC_AUTH_STORAGE_URI") is None:
        # Flask-Limiter keeps a storage_uri= argument, else reads RATELIMIT_STORAGE_URI.
        uri = getattr(limiter, "_storage_uri", None) or app.config.get("RATELIMIT_STORAGE_URI")
        if isinstance(uri, str) and uri:
            return uri, "the given Limiter's storage URI (OTC_AUTH_STORAGE_URI unset)"
    return settings.storage_uri, settings.storage_uri_setting


def _rate_limits(
    app: Flask, settings: Settings, limiter: Limiter | None
) -> tuple[RateLimits | None, Limiter | None]:
    """Count with the given Flask-Limiter's strategy, or one built from the settings.

    Without a given Limiter none is installed (unless :meth:`OTCAuth.limiter` asks for one):
    Flask-Limiter's request hooks would cost every request more than authenticating it. Its
    settings still apply: ``RATELIMIT_ENABLED``, ``RATELIMIT_STRATEGY``,
    ``RATELIMIT_STORAGE_OPTIONS``.
    """
    if not settings.ratelimit and not settings.failure_ratelimit:
        return None, limiter
    if limiter is None:
        if not app.config.get("RATELIMIT_ENABLED", True):
            return None, None
        try:
            strategy = build_strategy(settings.ratelimit_storage_uri or "memory://",
                                      app.config.get("RATELIMIT_STRATEGY", "fixed-window"),
                                      app.config.get("RATELIMIT_STORAGE_OPTIONS"))
        except (ConfigurationError, ValueError, TypeError):
            raise OTCAuthConfigError(
                "OTC_AUTH_RATELIMIT_STORAGE_URI names a storage the limits library cannot use: "
                "check its scheme (memory, redis, rediss, valkey, memcached, mongodb, ...) and "
                "install its driver (pip install 'flask-otcauth[redis]').") from None
        return RateLimits(strategy, per_identity=settings.ratelimit,
                          per_failure=settings.failure_ratelimit), None
    else:
        if settings.ratelimit_storage_uri is not None:
            raise OTCAuthConfigError(
                "OTC_AUTH_RATELIMIT_STORAGE_URI is set, but OTCAuth was given a Limiter: its "
                "storage is used. Configure the storage on the Limiter and remove the key.")
        if not limiter.initialized:
            limiter.init_app(app)
    if not limiter.enabled:
        return None, limiter  # RATELIMIT_ENABLED = False turns every limit off, ours too
    return RateLimits(limiter.limiter, per_identity=settings.ratelimit,
                      per_failure=settings.failure_ratelimit), limiter
