"""The one path a request takes through the Flask layer: every way in calls :func:`verify`.

``@require_auth`` (through :func:`refusal`), ``OTC_AUTH_PROTECT_ALL`` and ``auth.protect``
(through :func:`guard_request`), ``auth.verify_request()`` and ``check_scopes`` all end here.
This module feeds the core's :class:`~flask_otcauth.core.gate.Gate` the request, keeps the
identity with the request it belongs to, sends the audit signals with the app as their sender
and turns a refusal into its response. It decides nothing itself.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from logging import INFO
from typing import TYPE_CHECKING, Any, Final

from flask import after_this_request, current_app, request
from flask.globals import request_ctx

from .allowance import allow
from .connection import connection_facts
from .context import VERIFIED_ATTR
from .core.audit import (
    RequestFacts,
    auth_succeeded,
    record_refusal,
    record_success,
    refusal_audited,
)
from .core.audit import logger as audit_logger
from .core.gate import Gate, Requirement
from .core.identity import Identity
from .core.methods.base import REALM, AuthRequest
from .core.refusals import AuthFailure
from .core.scopes import scope_challenge
from .headers import header_reader
from .request_body import checked_json, readable
from .responses import AuthError
from .state import EXTENSION_NAME, NOT_INITIALIZED, AppState, app_state
from .target import target_uri
from .transport import PROTECTED_KEY

if TYPE_CHECKING:
    from flask import Flask, Request
    from werkzeug.sansio.response import Response

REQUIREMENT_ATTR: Final = "__otcauth_requirement__"
EXEMPT_ATTR: Final = "__otcauth_exempt__"
_DEFAULT: Final = Requirement()


def refusal(requirement: Requirement) -> Response | None:
    """The error response for this request under ``requirement``, or ``None`` to let it in."""
    # One context lookup for both the request and its app: an attribute read through a proxy
    # costs as much as a whole header check.
    context = request_ctx._get_current_object()  # type: ignore[attr-defined]
    current_request: Request = context.request
    if current_request.method == "OPTIONS":
        return preflight()
    app = context.app
    holder = app.extensions.get(EXTENSION_NAME)  # app_state() inlined: a call per request
    state = holder.states.get(id(app)) if holder is not None else None
    if state is None:
        raise RuntimeError(NOT_INITIALIZED)
    try:
        verify(state, requirement, current_request, app)
    except AuthError as error:
        return error.get_response()
    return None


def verify(
    state: AppState, requirement: Requirement, current_request: Request, app: Flask
) -> Identity | None:
    """The identity of ``current_request`` under ``requirement``, or :class:`AuthError`.

    One frame: every request pays for each call made here, so the rare steps (a second check
    of the same request, refusals, audits) are the ones that call out.
    """
    gate = state.gate
    methods = gate.methods if requirement.methods is None else gate.methods_for(requirement)
    verified = getattr(current_request, VERIFIED_ATTR, None)
    if verified is not None and verified[0] == methods:
        identity: Identity | None = verified[1]
        if identity is not None:
            _authorize(gate, identity, requirement, app, current_request)
            return identity
        if requirement.optional:
            return identity
    environ = current_request.environ
    if gate.require_https:
        environ[PROTECTED_KEY] = True  # so the response carries HSTS
        secure = current_request.is_secure
    else:
        secure = True
    # The raw query string as the callable AuthRequest wants, with no closure and no lookup
    # through the request proxy (query_string() cost oauth 1.9 us a request): str.__str__ of
    # an exact str returns that same string.
    query: Callable[[], str] = environ.get("QUERY_STRING", "").__str__
    auth_request = AuthRequest(header_reader(environ), current_request.method, target_uri,
                               _request_body, environ.get("REMOTE_ADDR"), secure, query,
                               _route, _tool_id, connection_facts, _tool_read)
    identity = None
    now = time.time()
    try:
        # Revocation read by the admit script, where it can: admit always follows then (it
        # needs the rate limits).
        folds = gate.folds_revocation
        identity = gate.verify(auth_request, methods, optional=requirement.optional, now=now,
                               revocation_in_admit=folds)
        if (gate.rate_limits is not None or requirement.scopes or requirement.any_scopes
                or requirement.step_up is not None
                or gate.policies or (identity is not None and identity.policy is not None)
                or gate.tool_requirements is not None):
            gate.admit(identity, requirement, auth_request, now,  # else it has nothing to do
                       revocation_in_admit=folds)
        if requirement.tenant_from is not None or (
                identity is not None and (identity.budget is not None or gate.budgets.everyone)):
            allow(gate, identity, requirement, current_request=current_request,
                  auth_request=auth_request, app=app, now=now,
                  facts=functools.partial(_request_facts, current_request))
    except AuthFailure as failure:
        if refusal_audited(failure):  # else nothing is built for the audit trail
            record_refusal(app, failure, functools.partial(_request_facts, current_request),
                           identity)
        raise _error(gate, methods, failure, requirement, identity) from None
    # Would a success be seen? Asked here, not through a function: every accepted request asks.
    if identity is not None and (auth_succeeded.receivers or audit_logger.isEnabledFor(INFO)):
        record_success(app, identity, functools.partial(_request_facts, current_request))
    setattr(current_request, VERIFIED_ATTR, (methods, identity))
    if gate.adds_headers and identity is not None:
        _add_success_headers(gate.authenticator.success_headers(identity, now))
    return identity


def verify_current(requirement: Requirement) -> Identity | None:
    """:func:`verify` for the current request of the current app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return verify(app_state(app), requirement, request._get_current_object(),  # type: ignore[attr-defined]
                  app)


def authorize(scopes: tuple[str, ...], any_scopes: tuple[str, ...]) -> None:
    """Raise the 403 :class:`AuthError` unless this request's caller holds the scopes.

    A request nobody authenticated yet (an anonymous caller of an optional view, or a view
    without ``require_auth``) is authenticated first, so it gets the usual 401.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    current_request = request._get_current_object()  # type: ignore[attr-defined]
    state = app_state(app)
    requirement = Requirement(scopes=scopes, any_scopes=any_scopes)
    verified = getattr(current_request, VERIFIED_ATTR, None)
    identity = verified[1] if verified is not None else None
    if identity is None:
        verify(state, requirement, current_request, app)  # verifies, then authorizes
        return
    _authorize(state.gate, identity, requirement, app, current_request)


def guard_request() -> Response | None:
    """The ``before_request`` hook behind ``OTC_AUTH_PROTECT_ALL`` and ``auth.protect``."""
    endpoint = request.endpoint
    if endpoint is None:
        # No route: 401 before 404, for OPTIONS too, so no method can probe which URLs exist.
        return _refusal_of(_DEFAULT)
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    view = current_app.view_functions.get(endpoint)
    # A view with its own @require_auth is checked there, with its own requirement.
    if getattr(view, EXEMPT_ATTR, False) or hasattr(view, REQUIREMENT_ATTR):
        return None
    if request.method == "OPTIONS":
        return preflight()
    return _refusal_of(_DEFAULT)


def first_request_hook(app: Flask, state: AppState) -> Callable[[], None]:
    """A ``before_request`` hook that checks every view's requirement at the app's first
    request, then removes itself: no request after it pays for a hook."""

    def check_views() -> None:
        if not state.views_checked:
            state.views_checked = True
            hooks = app.before_request_funcs.get(None, [])
            # A new list, never an edit of the one Flask is iterating over right now.
            remaining = [hook for hook in hooks if hook is not check_views]
            if remaining:
                app.before_request_funcs[None] = remaining
            else:
                app.before_request_funcs.pop(None, None)
            check_view_requirements(state.gate, app.view_functions.values())

    return check_views


def check_view_requirements(gate: Gate, views: Iterable[Any]) -> None:
    """Refuse a view that asks for a method the app does not enable."""
    for view in views:
        requirement = getattr(view, REQUIREMENT_ATTR, None)
        if isinstance(requirement, Requirement):
            gate.methods_for(requirement)


def preflight() -> Response | None:
    """An ``OPTIONS`` request, answered without credentials and without running the view.

    A CORS preflight carries no credentials by design, so it is never refused. Flask answers
    it itself unless the view lists ``OPTIONS`` among its methods; then the view would run,
    unauthenticated, so Flask's default answer (``Allow``) is given in its place.
    """
    rule = request.url_rule
    if rule is None or getattr(rule, "provide_automatic_options", False):
        return None  # a 404/405, or Flask's own answer: no view runs
    return current_app.make_default_options_response()


def _refusal_of(requirement: Requirement) -> Response | None:
    try:
        verify_current(requirement)
    except AuthError as error:
        return error.get_response()
    return None


def _authorize(gate: Gate, identity: Identity, requirement: Requirement, app: Flask,
               current_request: Request) -> None:
    try:
        gate.authorize(identity, requirement)
    except AuthFailure as failure:
        record_refusal(app, failure, functools.partial(_request_facts, current_request),
                       identity)
        raise _error(gate, gate.methods, failure, requirement, identity) from None


def _add_success_headers(headers: list[tuple[str, str]]) -> None:
    """Headers a scheme asked for on the accepted response (a DPoP-Nonce), added once the view
    answered."""
    if not headers:
        return

    def add(response: Response) -> Response:
        for name, value in headers:
            response.headers[name] = value
        return response

    after_this_request(add)


def _request_facts(current_request: Request) -> RequestFacts:
    """What the audit trail says of a request; built only when someone listens."""
    return RequestFacts(http_method=current_request.method, path=current_request.path,
                        client_address=current_request.remote_addr or "unknown")


def _route() -> tuple[str | None, str | None]:
    """The endpoint and URL rule the request matched, for a policy that names views."""
    rule = request.url_rule
    return (rule.endpoint, rule.rule) if rule is not None else (None, None)


def _tool_id() -> str | None:
    """The tool a ``POST /tools/call`` names (OXP: ``{"request": {"tool_id": ...}}``), read
    once for a policy that lists tools. ``get_json`` parses the body once and keeps both the
    bytes and the parsed value, so the view reads the same body without a second parse. A
    body of unknown length (chunked) or above ``MAX_CONTENT_LENGTH`` (1 MiB when unset) is not
    read: ``None``, and the policy refuses the call."""
    body = checked_json(request._get_current_object())  # type: ignore[attr-defined]
    call = body.get("request") if isinstance(body, dict) else None
    tool = call.get("tool_id") if isinstance(call, dict) else None
    return tool if isinstance(tool, str) and tool else None


def _tool_read() -> bool:
    """Whether the view can see no more of a tool call than the per-tool check did: its body
    was read, or is one Werkzeug will not read either (its length above ``MAX_CONTENT_LENGTH``:
    the view's 413). Any other call (a chunked body, one above 1 MiB while the app sets no
    limit) is refused, as the view could find a tool there that no check saw."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    length, limit = current.content_length, current.max_content_length
    return readable(current) or (length is not None and limit is not None and length > limit)


def _request_body() -> bytes:
    """The exact bytes received, kept for the view (werkzeug parses forms from the cache)."""
    return request.get_data(cache=True)


def _error(gate: Gate, methods: tuple[str, ...], failure: AuthFailure,
           requirement: Requirement = _DEFAULT, identity: Identity | None = None) -> AuthError:
    """The response of a refusal: 401s challenge for every accepted method (with the view's
    scopes, for the methods that name them), a 403 names scopes in the challenge of the method
    that verified the caller."""
    if failure.step_up is not None and identity is not None:
        # RFC 9470 section 3: the challenge of the scheme that verified the token, no other.
        scheme = gate.authenticator.challenges((identity.method,), None)[0]
        return AuthError(failure, [f"{scheme}, {failure.step_up}"])
    if failure.status == 401:
        if not failure.required_scopes and (requirement.scopes or requirement.any_scopes):
            failure.required_scopes = (*requirement.scopes, *requirement.any_scopes)
        return AuthError(failure, gate.authenticator.challenges(methods, failure))
    if failure.required_scopes:  # a 403 for scopes; https_required challenges nothing
        own = (gate.authenticator.scope_challenge(identity.method, failure)
               if identity is not None else None)
        return AuthError(failure, [own or scope_challenge(failure, REALM)])
    return AuthError(failure)
