"""The example tools as plain functions: their values and their tool errors."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from example_app.registry import ToolError, ToolRegistry
from example_app.tools import default_registry

from .support import TOOL_IDS

FIXED = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=timezone.utc)
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.fixture
def registry() -> ToolRegistry:
    return default_registry(clock=lambda: FIXED)


def run(registry: ToolRegistry, tool_id: str, **arguments: Any) -> Any:
    return registry.resolve(tool_id).run(arguments)


def test_default_registry_offers_the_five_tools(registry: ToolRegistry) -> None:
    ids = [definition["id"] for definition in registry.definitions()]

    assert ids == TOOL_IDS


def test_every_definition_follows_the_tool_definition_shape(registry: ToolRegistry) -> None:
    for definition in registry.definitions():
        assert NAME.match(definition["name"]), definition["name"]
        assert definition["description"]
        assert definition["id"].endswith("@" + definition["version"])
        parameters = definition["input_schema"]["parameters"]
        assert parameters["type"] == "object"
        assert parameters["additionalProperties"] is False


def test_add_returns_the_sum(registry: ToolRegistry) -> None:
    assert run(registry, "Math.Add", a=2, b=0.5) == 2.5


def test_add_keeps_integers_exact(registry: ToolRegistry) -> None:
    result = run(registry, "Math.Add", a=2**52, b=1)

    assert result == 2**52 + 1
    assert isinstance(result, int)


def test_add_overflow_is_a_tool_error(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="too large"):
        run(registry, "Math.Add", a=1.7e308, b=1.7e308)


def test_add_of_a_huge_integer_and_a_float_is_a_tool_error(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="too large"):
        run(registry, "Math.Add", a=10**400, b=0.5)


def test_divide_returns_the_quotient(registry: ToolRegistry) -> None:
    assert run(registry, "Math.Divide", dividend=7, divisor=2) == 3.5


def test_divide_by_zero_is_a_retryable_tool_error(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError) as raised:
        run(registry, "Math.Divide", dividend=1, divisor=0.0)

    assert raised.value.message == "Cannot divide by zero."
    assert raised.value.can_retry is True


def test_divide_overflow_is_a_tool_error(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="too large"):
        run(registry, "Math.Divide", dividend=1e308, divisor=1e-308)


def test_divide_of_huge_integers_is_a_tool_error(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="too large"):
        run(registry, "Math.Divide", dividend=10**400, divisor=3)


def test_text_stats_counts_characters_words_and_lines(registry: ToolRegistry) -> None:
    result = run(registry, "Text.Stats", text="Hello, world!\nsecond  line\n")

    assert result == {"characters": 27, "words": 4, "lines": 2}


def test_text_stats_of_empty_text_is_all_zero(registry: ToolRegistry) -> None:
    assert run(registry, "Text.Stats", text="") == {"characters": 0, "words": 0, "lines": 0}


def test_utc_now_is_iso_8601_with_z(registry: ToolRegistry) -> None:
    assert run(registry, "Time.UtcNow", format="iso8601") == "2025-03-14T15:09:26Z"


def test_utc_now_converts_a_non_utc_clock_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    registry = default_registry(clock=lambda: FIXED.astimezone(paris))

    assert run(registry, "Time.UtcNow", format="iso8601") == "2025-03-14T15:09:26Z"


def test_utc_now_as_unix_seconds(registry: ToolRegistry) -> None:
    assert run(registry, "Time.UtcNow", format="unix") == FIXED.timestamp()
