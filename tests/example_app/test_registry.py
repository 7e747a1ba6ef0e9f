"""Tool id resolution and the registry's guard rails, without Flask."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from example_app.registry import (
    MalformedToolIdError,
    Tool,
    ToolRegistry,
    UnknownToolError,
    parse_tool_id,
)


def _echo(arguments: Mapping[str, Any]) -> Any:
    return dict(arguments)


def _tool(version: str, name: str = "Echo", toolkit: str = "Demo") -> Tool:
    return Tool(toolkit, name, version, "Echo the input.", {"type": "object"}, None, _echo)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([_tool("1.2.0"), _tool("1.10.0"), _tool("1.0.0"), _tool("2.0.0")])


def test_full_version_resolves_exactly(registry: ToolRegistry) -> None:
    assert registry.resolve("Demo.Echo@1.2.0").version == "1.2.0"


def test_major_only_version_means_x_0_0(registry: ToolRegistry) -> None:
    assert registry.resolve("Demo.Echo@1").version == "1.0.0"


def test_missing_version_means_latest_by_semver_not_by_text(registry: ToolRegistry) -> None:
    registry_without_2 = ToolRegistry([_tool("1.2.0"), _tool("1.10.0"), _tool("1.9.9")])

    assert registry.resolve("Demo.Echo").version == "2.0.0"
    assert registry_without_2.resolve("Demo.Echo").version == "1.10.0"


def test_unknown_version_is_an_unknown_tool(registry: ToolRegistry) -> None:
    with pytest.raises(UnknownToolError, match=re.escape("known: 1.0.0, 1.2.0, 1.10.0, 2.0.0")):
        registry.resolve("Demo.Echo@3.0.0")


def test_major_only_version_without_x_0_0_is_unknown() -> None:
    with pytest.raises(UnknownToolError):
        ToolRegistry([_tool("1.2.0")]).resolve("Demo.Echo@1")


def test_unknown_name_is_an_unknown_tool(registry: ToolRegistry) -> None:
    with pytest.raises(UnknownToolError, match=r"no tool named Demo\.Missing"):
        registry.resolve("Demo.Missing")


@pytest.mark.parametrize(
    "tool_id",
    [
        "Echo",
        "Demo.Echo@",
        "Demo.Echo@1.2",
        "Demo.Echo@v1",
        "Demo.Echo@1.0.0.0",
        "A.B.C",
        "Demo .Echo",
        "Demo.Echo@latest",
        "",
        "Demo." + "x" * 65,
    ],
)
def test_malformed_tool_ids_are_refused(tool_id: str) -> None:
    with pytest.raises(MalformedToolIdError):
        parse_tool_id(tool_id)


def test_parse_tool_id_splits_name_and_version() -> None:
    assert parse_tool_id("Math.Add@2.1.3") == ("Math.Add", (2, 1, 3))
    assert parse_tool_id("Math.Add") == ("Math.Add", None)


def test_registering_the_same_version_twice_is_refused(registry: ToolRegistry) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(_tool("1.2.0"))


@pytest.mark.parametrize("name", ["Has space", "dot.ted", "", "x" * 65])
def test_names_outside_the_spec_pattern_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        ToolRegistry([_tool("1.0.0", name=name)])


def test_versions_that_are_not_semver_are_refused() -> None:
    with pytest.raises(ValueError, match="semantic version"):
        ToolRegistry([_tool("1.0")])


def test_definitions_list_every_version_in_semver_order(registry: ToolRegistry) -> None:
    ids = [definition["id"] for definition in registry.definitions()]

    assert ids == ["Demo.Echo@1.0.0", "Demo.Echo@1.2.0", "Demo.Echo@1.10.0", "Demo.Echo@2.0.0"]


def test_definition_nests_the_input_schema_under_parameters() -> None:
    definition = _tool("1.0.0").definition()

    assert definition == {
        "id": "Demo.Echo@1.0.0",
        "name": "Echo",
        "description": "Echo the input.",
        "version": "1.0.0",
        "input_schema": {"parameters": {"type": "object"}},
        "output_schema": None,
    }
