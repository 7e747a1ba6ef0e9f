"""``@require_auth``, ``@exempt`` and ``check_scopes``: the per-view ways in.

The decorator returns the error response itself instead of raising, so an app's own error
handlers (Flask-RESTful, -RESTX, a catch-all ``@errorhandler(Exception)``) cannot turn a 401
into a 500. It finds the app's extension at call time, through the guard, so it works in
blueprints defined before the app exists.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from .core.budget_config import amount
from .core.gate import Requirement
from .core.scopes import required_scopes
from .core.step_up import step_up
from .core.tenants import TenantSource, tenant_source
from .guard import EXEMPT_ATTR, REQUIREMENT_ATTR, authorize, refusal

F = TypeVar("F", bound=Callable[..., Any])


@overload
def require_auth(view: F) -> F: ...
@overload
def require_auth(
    *,
    methods: Iterable[str] | None = None,
    optional: bool = False,
    scopes: Iterable[str] = (),
    any_scopes: Iterable[str] = (),
    tenant_from: str | TenantSource | None = None,
    cost: int | None = None,
    acr_values: Iterable[str] = (),
    max_age: int | None = None,
) -> Callable[[F], F]: ...
def require_auth(
    view: F | None = None,
    *,
    methods: Iterable[str] | None = None,
    optional: bool = False,
    scopes: Iterable[str] = (),
    any_scopes: Iterable[str] = (),
    tenant_from: str | TenantSource | None = None,
    cost: int | None = None,
    acr_values: Iterable[str] = (),
    max_age: int | None = None,
) -> F | Callable[[F], F]:
    """Require an authenticated caller for a view; bare (``@require_auth``) or called.

    ``methods`` narrows the app's enabled methods for this view (credentials of the others are
    ignored); ``optional`` lets a caller without credentials through with no identity, while a
    credential that is presented must still be valid. ``scopes`` must all be granted and of
    ``any_scopes`` at least one, else 403 ``insufficient_scope``; scopes cannot be combined with
    ``optional``, which would let anonymous callers do what a scoped caller may not.

    ``tenant_from`` scopes the view to the tenant the request names there
    (``"view_arg:tenant"``, ``"header:X-Tenant"``, ``"query:tenant"``, ``"body:tenant_id"``):
    a credential bound to another tenant gets 403 ``tenant_mismatch`` before the view runs.
    ``cost`` is what a call of the view spends of a budgeted caller's budget (default: the
    tool's cost from ``OTC_AUTH_TOOL_COSTS``, else 1; 0 for a view that never spends, such as
    one that reports the usage).
    ``acr_values`` and ``max_age`` require a user authentication (RFC 9470 step-up): the
    token's ``acr`` among ``acr_values``, its ``auth_time`` at most ``max_age`` seconds ago;
    else 401 ``insufficient_user_authentication`` with the RFC 9470 challenge, or 403
    ``authentication_context_required`` for a credential that carries no user authentication.
    """
    requirement = Requirement(tuple(methods) if methods is not None else None, optional,
                              required_scopes(scopes), required_scopes(any_scopes),
                              None if tenant_from is None else tenant_source(tenant_from),
                              None if cost is None else amount(cost, "require_auth(cost)",
                                                               minimum=0),
                              step_up=step_up(acr_values, max_age))
    if optional and (requirement.scopes or requirement.any_scopes or requirement.step_up):
        raise ValueError("require_auth(optional=True) cannot require scopes or a user "
                         "authentication: an anonymous caller has none. Drop optional, or "
                         "check scopes in the view.")
    if optional and requirement.tenant_from is not None:
        raise ValueError("require_auth(optional=True) cannot scope a view to a tenant: an "
                         "anonymous caller is bound to none. Drop optional or tenant_from.")

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
    authorize(required_scopes(scopes), required_scopes(any_scopes))


def exempt(view: F) -> F:
    """Leave a view open under ``OTC_AUTH_PROTECT_ALL`` or a protected blueprint."""
    setattr(view, EXEMPT_ATTR, True)
    return view
