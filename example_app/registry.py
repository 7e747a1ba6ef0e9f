"""Tools as data, and the registry that resolves OTC tool ids to them.

Free of Flask on purpose: this is the part a reader copies into their own server, and it is
tested without an app. Transport concerns (status codes, JSON shapes) live in
:mod:`example_app.protocol`; the tools themselves in :mod:`example_app.tools`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

JSONValue = Any
"""Whatever ``json.dumps`` accepts; spelled out so signatures say what crosses the wire."""

# ToolDefinition.name, and the toolkit part of an id, as the OXP 1.0 OpenAPI document allows.
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VERSION: Final = re.compile(r"(\d+)\.(\d+)\.(\d+)")
# "Toolkit.Name", optionally "@x" or "@x.y.z": the ToolId pattern of the OXP 1.0 OpenAPI.
_TOOL_ID: Final = re.compile(
    r"([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})(?:@(\d+(?:\.\d+\.\d+)?))?"
)

Version = tuple[int, int, int]


class ToolError(Exception):
    """The tool ran and could not produce a value: reported as ``success: false``, not as a 4xx.

    The spec separates "your request was wrong" (400/422) from "the tool failed" (200 with an
    error), so that a model can read ``message`` and decide to retry with other input.
    """

    def __init__(
        self, message: str, *, developer_message: str | None = None, can_retry: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.developer_message = developer_message
        self.can_retry = can_retry


class UnknownToolError(LookupError):
    """No tool answers to the requested id (or to the requested version of it)."""


class MalformedToolIdError(ValueError):
    """The tool id does not follow ``Toolkit.Name[@x|@x.y.z]``."""


@dataclass(frozen=True)
class Tool:
    """One version of one tool: its definition and the function that runs it.

    ``run`` receives input already validated against ``parameters`` (with defaults applied), so a
    tool only checks what a schema cannot express, such as a zero divisor.
    """

    toolkit: str
    name: str
    version: str
    description: str
    parameters: Mapping[str, Any]
    output_schema: Mapping[str, Any] | None
    run: Callable[[Mapping[str, Any]], JSONValue] = field(compare=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.toolkit}.{self.name}"

    @property
    def id(self) -> str:
        return f"{self.qualified_name}@{self.version}"

    @property
    def semver(self) -> Version:
        return parse_version(self.version)

    def definition(self) -> dict[str, Any]:
        """The ToolDefinition object that ``GET /tools`` lists."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "input_schema": {"parameters": dict(self.parameters)},
            "output_schema": None if self.output_schema is None else dict(self.output_schema),
        }


def parse_version(text: str) -> Version:
    match = _VERSION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a semantic version x.y.z: {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def parse_tool_id(tool_id: str) -> tuple[str, Version | None]:
    """Split a tool id into its qualified name and the version it asks for (``None``: latest).

    ``@x`` means ``x.0.0`` (the spec's rule), not "the latest 1.y.z": an exact match keeps a
    client's behaviour from changing when a new minor version is deployed.
    """
    match = _TOOL_ID.fullmatch(tool_id)
    if match is None:
        raise MalformedToolIdError(tool_id)
    toolkit, name, version = match.groups()
    if version is None:
        return f"{toolkit}.{name}", None
    if "." in version:
        return f"{toolkit}.{name}", parse_version(version)
    return f"{toolkit}.{name}", (int(version), 0, 0)


class ToolRegistry:
    """The tools of one server, by qualified name and version."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, dict[Version, Tool]] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add a tool, refusing definitions that a client would reject or could not address."""
        for part in (tool.toolkit, tool.name):
            if _NAME.fullmatch(part) is None:
                raise ValueError(f"tool name part {part!r} must match ^[A-Za-z0-9_-]{{1,64}}$")
        versions = self._tools.setdefault(tool.qualified_name, {})
        if tool.semver in versions:
            raise ValueError(f"tool {tool.id} is already registered")
        versions[tool.semver] = tool

    def definitions(
        self, include: Callable[[str], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Every version of every tool (whose qualified name ``include`` accepts, if given), in a
        stable order so that listings are diffable."""
        return [
            versions[version].definition()
            for qualified_name, versions in sorted(self._tools.items())
            if include is None or include(qualified_name)
            for version in sorted(versions)
        ]

    def resolve(self, tool_id: str) -> Tool:
        """The tool a client's ``tool_id`` designates; raises if the id is malformed or unknown."""
        qualified_name, version = parse_tool_id(tool_id)
        versions = self._tools.get(qualified_name)
        if not versions:
            raise UnknownToolError(f"no tool named {qualified_name}")
        if version is None:
            return versions[max(versions)]
        tool = versions.get(version)
        if tool is None:
            known = ", ".join(".".join(map(str, v)) for v in sorted(versions))
            raise UnknownToolError(f"{qualified_name} has no version {version}; known: {known}")
        return tool
