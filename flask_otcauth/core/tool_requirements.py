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
from .step_up import StepUp, step_up

TOOL_SCOPES: Final = "OTC_AUTH_TOOL_SCOPES"
TOOL_STEP_UP: Final = "OTC_AUTH_TOOL_STEP_UP"
_STEP_UP_FIELDS: Final = ("acr_values", "max_age")
TOOL_PLACEHOLDER: Final = "{tool}"
TOOL_ID: Final = re.compile(
    r"([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})(?:@(\d+(?:\.\d+\.\d+)?))?")
"""The OXP 1.0 ToolId: ``Toolkit.Name``, optionally ``@x`` or ``@x.y.z``."""
_PATTERN: Final = re.compile(r"[A-Za-z0-9_.@*-]{1,160}")
_MAX_CACHED: Final = 4096

@dataclass(frozen=True, slots=True)
class ToolNeeds:
    """What a call of one tool needs: every one of ``scopes``, and the user authentication
    ``step_up`` describes (``None``: any)."""

    scopes: tuple[str, ...] = ()
    step_up: StepUp | None = None


NO_NEEDS: Final = ToolNeeds()


@dataclass(frozen=True, slots=True)
class ToolRule:
    """One declaration: the tools ``pattern`` matches need ``scopes`` and ``step_up``;
    ``source`` says where it was declared (a setting or the ``auth.tool`` call), for the error
    that names it."""

    pattern: str
    scopes: tuple[str, ...]
    source: str
    step_up: StepUp | None = None

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
        self._needs: dict[str, ToolNeeds] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __eq__(self, other: object) -> bool:  # settings compare by what they declare
        return isinstance(other, ToolRequirements) and other.rules == self.rules

    def __hash__(self) -> int:
        return hash(self.rules)

    def needs_for(self, tool_id: str) -> ToolNeeds:
        """What a call of ``tool_id`` (well-formed) needs: the scopes of every matching entry,
        the ``acr_values`` of the first that names some, and the smallest ``max_age``."""
        cached = self._needs.get(tool_id)
        if cached is not None:
            return cached
        name = tool_name(tool_id) or tool_id
        matching = [rule for rule in self.rules if rule.matches(tool_id, name)]
        scopes = tuple(dict.fromkeys(scope.replace(TOOL_PLACEHOLDER, name)
                                     for rule in matching for scope in rule.scopes))
        steps = [rule.step_up for rule in matching if rule.step_up is not None]
        acr_values = next((step.acr_values for step in steps if step.acr_values), ())
        ages = [step.max_age for step in steps if step.max_age is not None]
        needs = ToolNeeds(scopes, StepUp(acr_values, min(ages) if ages else None)
                          if acr_values or ages else None)
        if len(self._needs) >= _MAX_CACHED:
            self._needs.clear()
        self._needs[tool_id] = needs
        return needs

    def needs_of_call(self, request: AuthRequest) -> ToolNeeds:
        """What the tool a ``POST .../tools/call`` names needs, read from its body before the
        view runs; nothing for any other request. A call whose body the check could not see
        (chunked, or above the limit the view would still read), or that names a tool id of no
        OXP form, is ``400 invalid_tool_call``: the view must never run a tool this check did
        not see. A body read that names no tool is the protocol's 400 for the view to give (it
        reads the same parsed body, so it finds no tool there either)."""
        if request.method != "POST":
            return NO_NEEDS
        rule = request.route()[1]
        if rule is None or not rule.endswith(TOOL_CALL_SUFFIX):
            return NO_NEEDS
        tool = request.tool()
        if tool is None:
            if request.tool_read():
                return NO_NEEDS
            raise INVALID_TOOL_CALL.failure()
        needs = self._needs.get(tool)  # only well-formed ids are cached
        if needs is not None:
            return needs
        if tool_name(tool) is None:
            raise INVALID_TOOL_CALL.failure()
        return self.needs_for(tool)

    def with_rules(self, rules: Iterable[ToolRule]) -> ToolRequirements:
        """These declarations and ``rules`` after them (the ones an app registered in code)."""
        return ToolRequirements((*self.rules, *rules))


def tool_rule(pattern: object, scopes: object, source: str,
              requirement: StepUp | None = None) -> ToolRule:
    """One declaration, checked: an error names ``source`` and says how to write it."""
    checked_pattern(pattern, source)
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
    return ToolRule(str(pattern), tuple(dict.fromkeys(scopes)), source, requirement)


def checked_pattern(pattern: object, source: str) -> str:
    if not isinstance(pattern, str) or _PATTERN.fullmatch(pattern) is None:
        raise OTCAuthConfigError(
            f"{source}: the tool pattern {pattern!r} must be a tool id or a glob of one, with "
            'letters, digits, "_", "-", ".", "@" and "*" only ("Math.Add", "Math.*", "*").')
    return pattern


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


def _tool_step_up(value: Any, name: str) -> ToolRequirements:
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f'{name} must be a mapping of tool patterns to requirements, '
                                 'such as {"Admin.*": {"acr_values": ["phr"], "max_age": 300}} '
                                 f"(JSON in an environment variable), got {type(value).__name__}.")
    rules = []
    for pattern, fields in value.items():
        where = f'{name}["{checked_pattern(pattern, name)}"]'
        if not isinstance(fields, Mapping) or not fields or set(fields) - set(_STEP_UP_FIELDS):
            raise OTCAuthConfigError(f'{where} must be a mapping of "acr_values" (a list) and '
                                     '"max_age" (seconds), one of them at least.')
        rules.append(ToolRule(pattern, (), name, step_up(
            fields.get("acr_values", ()), fields.get("max_age"), where=where)))
    return ToolRequirements(rules)


TOOL_STEP_UP_KEY: Final = ConfigKey(
    TOOL_STEP_UP, {},
    "The user authentication each tool needs (RFC 9470), by tool id or glob pattern as "
    "OTC_AUTH_TOOL_SCOPES: the token's acr among acr_values, its auth_time at most max_age "
    "seconds ago. A token that falls short gets 401 insufficient_user_authentication with the "
    "RFC 9470 challenge; a credential without acr or auth_time (an API key, an hmac "
    "signature, a certificate, an OTC token without them) 403 "
    "authentication_context_required. auth.tool(pattern, acr_values=..., max_age=...) adds "
    "entries in code.",
    type='dict[str, {"acr_values": list[str], "max_age": int}]',
    example={"Admin.*": {"acr_values": ["phr", "phrh"], "max_age": 300}},
    wrong="Not a mapping; a wrong pattern; a requirement that is not a mapping of acr_values "
          "(a list of acr strings) and max_age (whole seconds >= 0), or names another field.",
    bad_example={"Admin.*": {"acr": "phr"}}, parse=_tool_step_up)


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
