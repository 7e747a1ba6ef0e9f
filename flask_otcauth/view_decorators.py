"""``@require_auth``: the per-view way in; resolves the extension of ``current_app`` at call time.

The decorator returns the error response itself instead of raising, so an app's own error
handlers (Flask-RESTful, -RESTX, a catch-all ``@errorhandler(Exception)``) cannot turn a 401
into a 500.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from flask import current_app, request
from flask.globals import app_ctx

from .context import Requirement
from .scopes import required_scopes

if TYPE_CHECKING:
    from flask import Flask, Request
    from werkzeug.sansio.response import Response

    from .extension import OTCAuth

F = TypeVar("F", bound=Callable[..., Any])
REQUIREMENT_ATTR: Final = "__otcauth_requirement__"
EXEMPT_ATTR: Final = "__otcauth_exempt__"


def extension(app: Flask | None = None) -> OTCAuth:
    extensions = (app if app is not None else current_app).extensions
    try:
        auth: OTCAuth = extensions["otcauth"]
    except KeyError:
        raise RuntimeError("This app has no OTCAuth: call auth.init_app(app).") from None
    return auth


def refusal(requirement: Requirement) -> Response | None:
    """The error response for this request under ``requirement``, or ``None`` to let it in."""
    # Each context-local proxy is resolved once: an attribute read through a proxy costs as
    # much as a whole header check.
    current_request: Request = request._get_current_object()  # type: ignore[attr-defined]
    if current_request.method == "OPTIONS":
        return preflight()
    context = app_ctx._get_current_object()  # type: ignore[attr-defined]  # app and g at once
    auth: OTCAuth | None = context.app.extensions.get("otcauth")
    if auth is None:
        extension(context.app)  # raises, saying what is missing
    return auth.refuse(requirement, context.app, current_request,  # type: ignore[union-attr]
                       context.g)


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


@overload
def require_auth(view: F) -> F: ...
@overload
def require_auth(
    *,
    methods: Iterable[str] | None = None,
    optional: bool = False,
    scopes: Iterable[str] = (),
    any_scopes: Iterable[str] = (),
) -> Callable[[F], F]: ...
def require_auth(
    view: F | None = None,
    *,
    methods: Iterable[str] | None = None,
    optional: bool = False,
    scopes: Iterable[str] = (),
    any_scopes: Iterable[str] = (),
) -> F | Callable[[F], F]:
    """Require an authenticated caller for a view; bare (``@require_auth``) or called.

    ``methods`` narrows the app's enabled methods for this view (credentials of the others are
    ignored); ``optional`` lets a caller without credentials through with no identity, while a
    credential that is presented must still be valid. ``scopes`` must all be granted and of
    ``any_scopes`` at least one, else 403 ``insufficient_scope``; scopes cannot be combined with
    ``optional``, which would let anonymous callers do what a scoped caller may not.
    """
    requirement = Requirement(tuple(methods) if methods is not None else None, optional,
                              required_scopes(scopes), required_scopes(any_scopes))
    if optional and (requirement.scopes or requirement.any_scopes):
        raise ValueError("require_auth(optional=True) cannot require scopes: an anonymous caller "
                         "holds none. Drop optional, or check scopes in the view.")

    def decorate(view: F) -> F:
        if inspect.iscoroutinefunction(view):
            @functools.wraps(view)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                response = refusal(requirement)
                if response is not None:
                    return response
                return await view(*args, **kwargs)

            guarded: Callable[..., Any] = guarded_async
        else:
            @functools.wraps(view)
            def guarded_sync(*args: Any, **kwargs: Any) -> Any:
                response = refusal(requirement)
                if response is not None:
                    return response
                return view(*args, **kwargs)

            guarded = guarded_sync
        setattr(guarded, REQUIREMENT_ATTR, requirement)
        return guarded  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def check_scopes(scopes: Iterable[str] = (), any_scopes: Iterable[str] = ()) -> None:
    """Raise the 403 :class:`~flask_otcauth.AuthError` unless the caller holds the scopes.

    For decisions only the view can make, such as the tool named in a request body. A request
    not authenticated yet is authenticated first (401 without a valid credential).
    """
    extension().authorize(required_scopes(scopes), required_scopes(any_scopes))


def exempt(view: F) -> F:
    """Leave a view open under ``OTC_AUTH_PROTECT_ALL`` or a protected blueprint."""
    setattr(view, EXEMPT_ATTR, True)
    return view
