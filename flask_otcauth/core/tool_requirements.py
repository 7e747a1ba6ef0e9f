"""What each tool needs, declared once for every tool call; Flask-free.

An OXP tool server has one endpoint for every tool (``POST /tools/call``), so a view's
``require_auth(scopes=...)`` cannot say what one tool needs: the tool is named in the body. The
app declares it instead, by tool id or glob pattern (``OTC_AUTH_TOOL_SCOPES``, or
``auth.tool(...)`` in code), and the gate decides it before the view runs, so before the app
looks the tool up: a tool the caller may not call and one that does not exist get the same
403, and a caller cannot probe which tools exist beyond its scopes.

A pattern is matched against the tool's qualified name (``Math.Add``, the id without its
``@version``), or against the whole id when the pattern itself names a version
(``Math.Add@2*``). ``*`` is the only wildcard. A scope may hold ``{tool}``, which stands for the
qualified name: ``{"*": ["tools:call:{tool}"]}`` gives every tool a scope of its own, tools that
do not exist included. Every matching entry applies; the scopes add up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Final

from .config_keys import ConfigKey
from .methods.base import AuthRequest
from .policy_check import TOOL_CALL_SUFFIX
from .refusals import INVALID_TOOL_CALL, AuthFailure, OTCAuthConfigError
from .scopes import ScopeError, grants, insufficient_scope, required_scopes

TOOL_SCOPES: Final = "OTC_AUTH_TOOL_SCOPES"
TOOL_PLACEHOLDER: Final = "{tool}"
TOOL_ID: Final = re.compile(
    r"([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})(?:@(\d+(?:\.\d+\.\d+)?))?")
"""The OXP 1.0 ToolId: ``Toolkit.Name``, optionally ``@x`` or ``@x.y.z``."""
_PATTERN: Final = re.compile(r"[A-Za-z0-9_.@*-]{1,160}")
_MAX_CACHED: Final = 4096

@dataclass(frozen=True, slots=True)
class ToolRule:
    """One declaration: the tools ``pattern`` matches need ``scopes``; ``source`` says where it
    was declared (the setting or the ``auth.tool`` call), for the error that names it."""

    pattern: str
    scopes: tuple[str, ...]
    source: str

    def matches(self, tool_id: str, name: str) -> bool:
        return fnmatchcase(tool_id if "@" in self.pattern else name, self.pattern)


def tool_name(tool_id: str) -> str | None:
    """The qualified name (``Math.Add``) of an OXP tool id, or ``None`` for a malformed id."""
    match = TOOL_ID.fullmatch(tool_id)
    return None if match is None else f"{match.group(1)}.{match.group(2)}"


class ToolRequirements:
    """The declarations of one app, asked for the scopes of the tool a call names."""

    def __init__(self, rules: Iterable[ToolRule]) -> None:
        self.rules = tuple(rules)
        # By tool id: a pattern match per rule and request is what this saves. Bounded, as the
        # ids come from callers.
        self._scopes: dict[str, tuple[str, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __eq__(self, other: object) -> bool:  # settings compare by what they declare
        return isinstance(other, ToolRequirements) and other.rules == self.rules

    def __hash__(self) -> int:
        return hash(self.rules)

    def scopes_for(self, tool_id: str) -> tuple[str, ...]:
        """Every scope a call of ``tool_id`` (well-formed) needs, in declaration order."""
        cached = self._scopes.get(tool_id)
        if cached is not None:
            return cached
        name = tool_name(tool_id) or tool_id
        needed = tuple(dict.fromkeys(
            scope.replace(TOOL_PLACEHOLDER, name)
            for rule in self.rules if rule.matches(tool_id, name) for scope in rule.scopes))
        if len(self._scopes) >= _MAX_CACHED:
            self._scopes.clear()
        self._scopes[tool_id] = needed
        return needed

    def scopes_of_call(self, request: AuthRequest) -> tuple[str, ...]:
        """The scopes the tool a ``POST .../tools/call`` names needs, read from its body before
        the view runs; ``()`` for any other request. A call whose body the check could not see
        (chunked, or above the limit the view would still read), or that names a tool id of no
        OXP form, is ``400 invalid_tool_call``: the view must never run a tool this check did
        not see. A body read that names no tool is the protocol's 400 for the view to give (it
        reads the same parsed body, so it finds no tool there either)."""
        if request.method != "POST":
            return ()
        rule = request.route()[1]
        if rule is None or not rule.endswith(TOOL_CALL_SUFFIX):
            return ()
        tool = request.tool()
        if tool is None and request.tool_read():
            return ()
        if tool is None or tool_name(tool) is None:
            raise INVALID_TOOL_CALL.failure()
        return self.scopes_for(tool)

    def with_rules(self, rules: Iterable[ToolRule]) -> ToolRequirements:
        """These declarations and ``rules`` after them (the ones an app registered in code)."""
        return ToolRequirements((*self.rules, *rules))


def tool_rule(pattern: object, scopes: object, source: str) -> ToolRule:
    """One declaration, checked: an error names ``source`` and says how to write it."""
    if not isinstance(pattern, str) or _PATTERN.fullmatch(pattern) is None:
        raise OTCAuthConfigError(
            f"{source}: the tool pattern {pattern!r} must be a tool id or a glob of one, with "
            'letters, digits, "_", "-", ".", "@" and "*" only ("Math.Add", "Math.*", "*").')
    if isinstance(scopes, str) or not isinstance(scopes, (list, tuple)):
        raise OTCAuthConfigError(f'{source}: the scopes of "{pattern}" must be a list, such as '
                                 '["tools:call:{tool}"].')
    for index, scope in enumerate(scopes):
        if not isinstance(scope, str):
            raise OTCAuthConfigError(f'{source}["{pattern}"][{index}] must be a scope string.')
        try:
            required_scopes([scope.replace(TOOL_PLACEHOLDER, "Toolkit.Name")])
        except ScopeError as error:
            raise OTCAuthConfigError(f'{source}["{pattern}"][{index}]: {error}.') from None
    return ToolRule(pattern, tuple(dict.fromkeys(scopes)), source)


def _tool_scopes(value: Any, name: str) -> ToolRequirements:
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f'{name} must be a mapping of tool patterns to scopes, such as '
                                 '{"*": ["tools:call:{tool}"]} (JSON in an environment '
                                 f"variable), got {type(value).__name__}.")
    return ToolRequirements(tool_rule(pattern, scopes, name) for pattern, scopes in value.items())


TOOL_SCOPES_KEY: Final = ConfigKey(
    TOOL_SCOPES, {},
    "The scopes a caller needs to call each tool through POST .../tools/call, by tool id or "
    "glob pattern (matched against Toolkit.Name, or the whole id when the pattern names a "
    "version), decided before the view looks the tool up. {tool} in a scope stands for the "
    "tool's Toolkit.Name. Every matching entry applies. auth.tool(pattern, scopes=[...]) adds "
    "entries in code.",
    type="dict[str, list[str]]: tool pattern to scopes", example={"*": ["tools:call:{tool}"],
                                                                  "Admin.*": ["admin"]},
    wrong="Not a mapping; a pattern with characters other than letters, digits, _ - . @ *; "
          "scopes that are not a list of RFC 6749 scope tokens, or end with a wildcard.",
    bad_example={"Math.*": "tools:call:Math"}, parse=_tool_scopes)


def call_scope_failure(granted: frozenset[str], needed: tuple[str, ...],
                       any_of: tuple[str, ...]) -> AuthFailure | None:
    """The 403 of a tool call, naming every scope the call needs (the view's and the tool's),
    so one challenge tells the client the whole scope to ask for (RFC 6750 section 3.1);
    ``None`` when the caller holds them (and one of the view's ``any_of``)."""
    if any(not grants(granted, scope) for scope in needed):
        return insufficient_scope(needed, "This tool call needs the scopes: " + " ".join(needed))
    if any_of and not any(grants(granted, scope) for scope in any_of):
        return insufficient_scope(any_of,
                                  "This request needs one of the scopes: " + " ".join(any_of))
    return None
