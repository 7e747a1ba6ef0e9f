"""The Flask extension: setup and the public API; the request path itself is :mod:`.guard`.

``init_app`` reads the settings once (:func:`flask_otcauth.core.settings.load_settings`),
builds the app's :class:`~flask_otcauth.core.gate.Gate` and installs only the hooks the
configuration needs: none at all for the usual set-up, where the views carry
``@require_auth``, beyond one that checks the views at the first request and removes itself.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from . import guard
from .cli import otcauth_cli
from .core.circuit import Circuits
from .core.config_keys import ConfigKey
from .core.gate import Gate, Requirement
from .core.identity import Identity
from .core.keys import KeyLoader
from .core.methods import default_methods
from .core.methods.base import AuthMethod, Setup
from .core.methods.oauth import OAUTH, metadata_paths
from .core.openapi import SchemeObject, SecurityRequirement, security_requirement, security_schemes
from .core.ratelimit import RateLimits, own_rate_limits
from .core.settings import REFUSE, Settings, config_keys, load_settings
from .core.storage import Storage, open_storage
from .core.tool_signing import KEYS_CACHE_CONTROL, KEYS_PATH, ToolSigner
from .revocation_api import RevocationAPI
from .state import EXTENSION_NAME, AppState, app_state
from .tool_api import ToolAPI
from .transport import install_hsts
from .view_decorators import exempt, require_auth

if TYPE_CHECKING:
    from collections.abc import Callable

    from .core.methods.oauth import OAuthSettings


class OTCAuth(RevocationAPI, ToolAPI):
    """OTC server authentication for a Flask app (``OTCAuth(app)`` or ``init_app(app)``).

    One instance may serve several apps; each keeps its own settings, read once from its
    ``app.config`` and never changed after. The revocation API (``revoke_token``,
    ``revoke_before``, ``revoke_key`` and their counterparts) comes from
    :class:`~flask_otcauth.revocation_api.RevocationAPI`; per-tool authorization (``tool``,
    ``may_call``, ``callable_tools``) from :class:`~flask_otcauth.tool_api.ToolAPI`.
    """

    require_auth = staticmethod(require_auth)
    exempt = staticmethod(exempt)

    def __init__(
        self,
        app: Flask | None = None,
        *,
        limiter: Limiter | None = None,
        api_key_loader: KeyLoader | None = None,
        methods: Iterable[AuthMethod[Any]] = (),
    ) -> None:
        self._limiter = limiter
        self._key_loader = api_key_loader
        self._initialized = False
        self._methods = [*default_methods(), *methods]
        self._tool_rules = []
        # By id(app), dropped when the app is collected (see init_app): a plain dictionary
        # lookup per request, and no reference that keeps an app alive.
        self.states: dict[int, AppState] = {}
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, limiter: Limiter | None = None) -> None:
        """Validate ``app.config`` (raising :class:`OTCAuthConfigError`) and install the hooks."""
        self._initialized = True
        limiter = limiter or self._limiter
        settings = load_settings(app.config, methods=self._methods,
                                 has_key_loader=self._key_loader is not None,
                                 has_limiter=limiter is not None,
                                 limiter_storage_uri=getattr(limiter, "_storage_uri", None))
        if self._tool_rules:  # auth.tool(...) declarations, after OTC_AUTH_TOOL_SCOPES'
            settings = replace(settings, tool_requirements=settings.tool_requirements.with_rules(
                self._tool_rules))
        # One circuit per server for this app: its nonces and counters on one Redis open and
        # close together, so a request never waits for a hung Redis twice.
        circuits = Circuits(sender=app)
        rate_limits = _rate_limits(app, settings, limiter, circuits)
        # Opened here, so a wrong URI fails init_app (a Redis client connects on first use).
        storage = open_storage(settings.storage_uri, setting=settings.storage_uri_setting,
                               timeout=settings.storage_timeout,
                               circuit=circuits.for_uri(settings.storage_uri),
                               namespace=settings.storage_namespace + ":")
        previous = self.states.get(id(app))
        if previous is None:
            weakref.finalize(app, self.states.pop, id(app), None)
        state = self.states[id(app)] = AppState(
            settings=settings,
            gate=Gate(settings, Setup(storage, self._key_loader), rate_limits,
                      None if rate_limits is not None
                      else _policy_limits(app, settings, limiter, circuits)),
            storage=storage, limiter=limiter, key_loader=self._key_loader)
        app.extensions[EXTENSION_NAME] = self
        if settings.require_https:
            install_hsts(app)
        _install_hooks(app, state, previous)
        if OAUTH.name in settings.methods:
            _serve_resource_metadata(app, settings.of(OAUTH))
        if settings.tool_signer is not None:
            _serve_tool_keys(app, settings.tool_signer)
        if "otcauth" not in app.cli.commands:
            app.cli.add_command(otcauth_cli)

    def register_method(self, method: AuthMethod[Any]) -> AuthMethod[Any]:
        """Add an authentication method to the apps this extension serves.

        Its keys are validated and documented like the built-in ones, and ``OTC_AUTH_METHODS``
        may name it. Register it before ``init_app``, as settings do not change after setup;
        a package can instead declare it in the ``flask_otcauth.methods`` entry point group.
        """
        if self._initialized:
            raise RuntimeError("Register methods before init_app(app), or pass "
                               "OTCAuth(methods=[...]).")
        self._methods.append(method)
        return method

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

    @property
    def methods(self) -> tuple[AuthMethod[Any], ...]:
        """The methods this extension knows: the built-in and installed ones, then yours."""
        return tuple(self._methods)

    def config_keys(self) -> tuple[ConfigKey, ...]:
        """Every setting the apps of this extension accept, registered methods' included."""
        return config_keys(self._methods)

    def settings(self, app: Flask | None = None) -> Settings:
        """The validated settings of ``app`` (default: the current app)."""
        return app_state(app).settings

    def limiter(self, app: Flask | None = None) -> Limiter:
        """A Flask-Limiter on the same storage, to add limits of the app's own.

        The one given to ``OTCAuth``, whose strategy our limits count with; else one made on
        first call (during setup: it installs request hooks) with the app's storage URI.
        """
        target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
        state = app_state(target)
        if state.limiter is None:
            state.limiter = Limiter(get_remote_address,
                                    storage_uri=state.settings.ratelimit_storage_uri or "memory://")
            state.limiter.init_app(target)
        return state.limiter

    def storage(self, app: Flask | None = None) -> Storage:
        """The shared storage of ``app`` (``OTC_AUTH_STORAGE_URI``): nonces, and state of yours."""
        return app_state(app).storage

    def openapi_security_schemes(self, app: Flask | None = None) -> dict[str, SchemeObject]:
        """OpenAPI 3.1 ``components.securitySchemes`` for the methods ``app`` enables."""
        return security_schemes(app_state(app).settings)

    def openapi_security(self, app: Flask | None = None) -> list[SecurityRequirement]:
        """The OpenAPI ``security`` requirement of a protected view: any enabled method."""
        return security_requirement(app_state(app).settings)

    def protected_resource_metadata(self, app: Flask | None = None) -> dict[str, Any]:
        """The RFC 9728 protected resource metadata the app serves at
        ``/.well-known/oauth-protected-resource`` (``oauth`` enabled or not)."""
        return app_state(app).settings.of(OAUTH).metadata()

    def signs_tools(self, app: Flask | None = None) -> bool:
        """Whether ``app`` signs its tool definitions (``OTC_AUTH_TOOL_SIGNING``)."""
        return app_state(app).settings.tool_signer is not None

    def sign_tool_definitions(
        self, definitions: Iterable[Mapping[str, Any]], app: Flask | None = None
    ) -> dict[str, str]:
        """``{tool id: detached JWS}`` for the ToolDefinitions a listing holds.

        Put it beside the items (``{"items": [...], "signatures": {...}}``): the OXP schema
        allows no other member inside a ToolDefinition. Each definition is signed once per
        process and its signature reused while it stays the same, so a view may call this on
        every request. ``RuntimeError`` while ``OTC_AUTH_TOOL_SIGNING`` is off.
        """
        signer = app_state(app).settings.tool_signer
        if signer is None:
            raise RuntimeError("OTC_AUTH_TOOL_SIGNING is off: turn it on (with "
                               "OTC_AUTH_TOOL_SIGNING_KEY_FILE) to sign tool definitions.")
        return signer.sign_all(definitions)

    def tool_keys(self, app: Flask | None = None) -> dict[str, Any]:
        """The JWK Set served at ``/.well-known/otc-tool-keys.json`` (empty when signing is
        off): the current signing key, then the earlier ones still published."""
        signer = app_state(app).settings.tool_signer
        return {"keys": []} if signer is None else signer.key_set()

    def protect(self, blueprint: Blueprint) -> None:
        """Require authentication on every view of ``blueprint`` (``@auth.exempt`` opts out)."""
        blueprint.before_request(guard.guard_request)

    def verify_request(
        self, *, methods: Iterable[str] | None = None, optional: bool = False
    ) -> Identity | None:
        """The identity of the current request, or raise :class:`AuthError` (401/403/429)."""
        return guard.verify_current(
            Requirement(tuple(methods) if methods is not None else None, optional))

    def authorize(self, scopes: tuple[str, ...] = (), any_scopes: tuple[str, ...] = ()) -> None:
        """Raise the 403 :class:`AuthError` unless this request's caller holds the scopes."""
        guard.authorize(scopes, any_scopes)


def _install_hooks(app: Flask, state: AppState, previous: AppState | None) -> None:
    """The view check at the first request, and the guard of ``OTC_AUTH_PROTECT_ALL``;
    an earlier ``init_app`` of the same app has its hooks replaced."""
    hooks = app.before_request_funcs.setdefault(None, [])
    if previous is not None:
        hooks[:] = [hook for hook in hooks if getattr(hook, "otcauth_state", None) is not previous]
    installed: list[Callable[[], Any]] = [guard.first_request_hook(app, state)]
    if state.settings.protect_all:

        def protect_all() -> Any:
            return guard.guard_request()

        installed.append(protect_all)
    for hook in installed:
        hook.otcauth_state = state  # type: ignore[attr-defined]
    hooks[:0] = installed  # first of all hooks, so the app's own see a checked request


METADATA_ENDPOINT = "otcauth_protected_resource_metadata"


def _serve_resource_metadata(app: Flask, settings: OAuthSettings) -> None:
    """RFC 9728 section 3: the metadata at the app's root, whatever blueprint the views are
    in, at the well-known path and at its form with the resource's path inserted. The document
    is built from configuration once, never from the request's Host."""
    document = settings.metadata()

    def protected_resource_metadata() -> Response:
        return jsonify(document)

    setattr(protected_resource_metadata, guard.EXEMPT_ATTR, True)
    if METADATA_ENDPOINT in app.view_functions:  # init_app again: the new document
        app.view_functions[METADATA_ENDPOINT] = protected_resource_metadata
        return
    for path in metadata_paths(str(settings.resource)):
        app.add_url_rule(path, METADATA_ENDPOINT, protected_resource_metadata,
                         methods=["GET"])


def _policy_limits(app: Flask, settings: Settings, limiter: Limiter | None, circuits: Circuits
                   ) -> Callable[[], RateLimits | None]:
    """Where a policy's own ``ratelimit`` is counted when the app's limits are both off: the
    same storage and strategy, with no limit of its own (``RATELIMIT_ENABLED = False`` still
    turns every limit off): a given Limiter's when the app has set it up, else ours, opened by
    the first request that needs it, so an app whose callers have no such limit opens none."""
    uri = (getattr(limiter, "_storage_uri", None) or app.config.get("RATELIMIT_STORAGE_URI")
           if limiter is not None else None)
    if limiter is None or not limiter.initialized:
        # Ours, on the given Limiter's storage if there is one: a Limiter set up here would
        # install request hooks that every request of the app pays for.
        own = replace(settings, ratelimit_storage_uri=uri) if isinstance(uri, str) else settings
        return functools.partial(own_rate_limits, own, circuits.for_uri(
            own.ratelimit_storage_uri or "memory://"), for_policies=True)
    if not limiter.enabled:
        return lambda: None
    built = RateLimits(limiter.limiter, per_identity=(), per_failure=(),
                       circuit=circuits.for_uri(uri if isinstance(uri, str) else "limiter://"),
                       refuse_on_outage=settings.ratelimit_fallback == REFUSE,
                       timeout=settings.storage_timeout)
    return lambda: built
TOOL_KEYS_ENDPOINT = "otcauth_tool_keys"


def _serve_tool_keys(app: Flask, signer: ToolSigner) -> None:
    """The public keys of the tool signatures at the app's root, open to every caller (a
    verifier fetches them before it trusts anything of the server), and cacheable."""
    document = signer.key_set()

    def tool_keys() -> Response:
        response = jsonify(document)
        response.headers["Cache-Control"] = KEYS_CACHE_CONTROL
        return response

    setattr(tool_keys, guard.EXEMPT_ATTR, True)
    if TOOL_KEYS_ENDPOINT in app.view_functions:  # init_app again: the new keys
        app.view_functions[TOOL_KEYS_ENDPOINT] = tool_keys
        return
    app.add_url_rule(KEYS_PATH, TOOL_KEYS_ENDPOINT, tool_keys, methods=["GET"])


def _rate_limits(app: Flask, settings: Settings, limiter: Limiter | None, circuits: Circuits
                 ) -> RateLimits | None:
    """Count with the given Flask-Limiter's strategy, or one built from the settings.

    Without a given Limiter none is installed (unless :meth:`OTCAuth.limiter` asks for one):
    Flask-Limiter's request hooks would cost every request more than authenticating it. Its
    settings still apply: ``RATELIMIT_ENABLED``, ``RATELIMIT_STRATEGY``,
    ``RATELIMIT_STORAGE_OPTIONS``, read into the settings at ``init_app``.
    """
    if limiter is None:
        return own_rate_limits(settings, circuits.for_uri(
            settings.ratelimit_storage_uri or "memory://"))
    if not settings.ratelimit and not settings.failure_ratelimit:
        return None
    if not limiter.initialized:
        limiter.init_app(app)
    if not limiter.enabled:
        return None  # RATELIMIT_ENABLED = False turns every limit off, ours too
    # The Limiter's storage keeps the client options it was made with; the admit script's own
    # connections get the app's timeout.
    uri = getattr(limiter, "_storage_uri", None) or app.config.get("RATELIMIT_STORAGE_URI")
    return RateLimits(limiter.limiter, per_identity=settings.ratelimit,
                      per_failure=settings.failure_ratelimit,
                      circuit=circuits.for_uri(uri if isinstance(uri, str) else "limiter://"),
                      refuse_on_outage=settings.ratelimit_fallback == REFUSE,
                      timeout=settings.storage_timeout)
