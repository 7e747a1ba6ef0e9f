"""Per-tool authorization on the extension: ``auth.tool(...)``, ``auth.may_call(tool_id)`` and
``auth.callable_tools(items)``.

The declarations are read once, at ``init_app``, beside ``OTC_AUTH_TOOL_SCOPES``; the gate
decides every ``POST .../tools/call`` from them before the view runs. The two helpers answer
the same question for a listing: ``GET /tools`` shows a caller the tools it would not be
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .context import get_identity
from .core.step_up import carries_authentication_context, step_up
from .core.tool_requirements import ToolRule, tool_name, tool_rule
from .state import app_state

if TYPE_CHECKING:
    from flask import Flask

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class ToolAPI:
    """Mixed into :class:`~flask_otcauth.OTCAuth`."""

    _initialized: bool
    _tool_rules: list[ToolRule]

    def tool(self, pattern: str, *, scopes: Iterable[str] = (), acr_values: Iterable[str] = (),
             max_age: int | None = None) -> Callable[[F], F]:
        """Declare what calling the tools ``pattern`` matches needs, as one more entry of
        ``OTC_AUTH_TOOL_SCOPES`` (a tool id, or a glob of one; ``{tool}`` in a scope stands for
        the tool's ``Toolkit.Name``) and, with ``acr_values`` or ``max_age``, of
        ``OTC_AUTH_TOOL_STEP_UP`` (RFC 9470: the token's ``acr`` among ``acr_values``, its
        ``auth_time`` at most ``max_age`` seconds ago).

        Call it as a statement or use it as a decorator above the function that runs the tool
        (which it returns unchanged), before ``init_app``: the declarations, like the settings,
        do not change after setup. A wrong pattern or scope raises
        :class:`~flask_otcauth.OTCAuthConfigError` here, naming the call.
        """
        if self._initialized:
            raise RuntimeError(f'Declare auth.tool("{pattern}", ...) before init_app(app): what '
                               "tools need does not change after setup.")
        listed = list(scopes) if not isinstance(scopes, str) else scopes
        where = f'auth.tool("{pattern}")'
        self._tool_rules.append(tool_rule(pattern, listed, where,
                                          step_up(acr_values, max_age, where=where)))

        def unchanged(function: F) -> F:
            return function

        return unchanged

    @property
    def tool_rules(self) -> tuple[ToolRule, ...]:
        """The declarations made with :meth:`tool`, in order."""
        return tuple(self._tool_rules)

    def may_call(self, tool_id: str, app: Flask | None = None) -> bool:
        """Whether the current request's caller holds every scope a call of ``tool_id`` needs,
        and, for a tool that needs a user authentication (step-up), carries one it could
        strengthen: ``True`` for a token that must only sign in again (its call gets the RFC
        9470 challenge), ``False`` for an API key, which never could. ``False`` for an id of no
        OXP form; ``True`` in no-auth mode and for a tool no declaration names."""
        state = app_state(app)
        requirements = state.gate.tool_requirements
        if state.settings.auth_disabled or requirements is None:
            return True
        if tool_name(tool_id) is None:
            return False
        needs = requirements.needs_for(tool_id)
        if not needs.scopes and needs.step_up is None:
            return True
        identity = get_identity()
        return (identity is not None and all(identity.has_scope(scope) for scope in needs.scopes)
                and (needs.step_up is None or carries_authentication_context(identity)))

    def callable_tools(self, items: Iterable[T], app: Flask | None = None) -> list[T]:
        """The ToolDefinitions of ``items`` (mappings, or objects, with an ``id``) that the
        current caller may call, in their order: a listing filtered by one call."""
        return [item for item in items if self.may_call(_tool_id(item), app)]


def _tool_id(item: object) -> str:
    value = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
    return value if isinstance(value, str) else ""

