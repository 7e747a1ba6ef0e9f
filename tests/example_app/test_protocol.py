"""The wire rules without Flask: which request is a 400, which input a 422, what a result holds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from example_app.protocol import (
    CallRequest,
    InputValidationError,
    ProtocolError,
    execute,
    negotiate_schema,
    parse_call_request,
    resolve_tool,
    validate_input,
)
from example_app.registry import Tool, ToolError
from example_app.tools import default_registry

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "label": {"type": "string", "maxLength": 5, "minLength": 1},
        "flag": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
    },
    "required": ["count"],
    "additionalProperties": False,
}


def _tool(run: Any) -> Tool:
    return Tool("Demo", "Run", "1.0.0", "Runs.", {"type": "object"}, None, run)


def _request(**fields: Any) -> CallRequest:
    return CallRequest(
        schema="urn:oxp:1.0", tool_id="Demo.Run", call_id="call-1", input={}, **fields
    )


def _errors(tool_input: Mapping[str, Any]) -> dict[str, str]:
    with pytest.raises(InputValidationError) as raised:
        validate_input(SCHEMA, tool_input)
    return raised.value.parameter_errors


def _ticks(*values: float) -> Iterator[float]:
    yield from values


@pytest.mark.parametrize("schema", ["urn:oxp:1.0", "otc://1.0"])
def test_both_names_of_protocol_1_0_are_accepted(schema: str) -> None:
    assert negotiate_schema(schema) == schema


def test_absent_schema_means_the_latest() -> None:
    assert negotiate_schema(None) == "urn:oxp:1.0"


@pytest.mark.parametrize("schema", ["urn:oxp:2.0", "otc://0.9", "", 1.0])
def test_unsupported_schema_is_a_protocol_error(schema: object) -> None:
    with pytest.raises(ProtocolError, match="not supported"):
        negotiate_schema(schema)


def test_parse_keeps_the_client_call_id_and_trace_id() -> None:
    call = parse_call_request(
        {"request": {"tool_id": "Math.Add", "call_id": "c-7", "trace_id": "t-9", "input": {}}}
    )

    assert (call.call_id, call.trace_id) == ("c-7", "t-9")


def test_parse_generates_a_call_id_when_missing() -> None:
    call = parse_call_request({"request": {"tool_id": "Math.Add"}}, new_call_id=lambda: "fresh")

    assert call.call_id == "fresh"
    assert call.input == {}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "JSON object"),
        (None, "JSON object"),
        ({}, '"request" object'),
        ({"request": "Math.Add"}, '"request" object'),
        ({"request": {}}, "tool_id"),
        ({"request": {"tool_id": 7}}, "tool_id"),
        ({"request": {"tool_id": "Math.Add", "input": [1, 2]}}, "input"),
        ({"request": {"tool_id": "Math.Add", "context": "x"}}, "context"),
        ({"request": {"tool_id": "Math.Add", "call_id": 5}}, "call_id"),
        ({"request": {"tool_id": "Math.Add", "trace_id": {}}}, "trace_id"),
    ],
)
def test_malformed_envelopes_are_protocol_errors(body: object, problem: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_call_request(body)

    assert problem in raised.value.developer_message
    assert raised.value.status == 400


def test_unknown_tool_is_a_protocol_error_naming_it() -> None:
    with pytest.raises(ProtocolError, match=r"Math\.Pow") as raised:
        resolve_tool(default_registry(), "Math.Pow")

    assert raised.value.body()["message"] == "Unknown tool."


def test_malformed_tool_id_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match=r"Toolkit\.Name"):
        resolve_tool(default_registry(), "Math.Add@latest")


def test_developer_message_does_not_echo_unbounded_input() -> None:
    with pytest.raises(ProtocolError) as raised:
        resolve_tool(default_registry(), "Math." + "A" * 5000)

    assert len(raised.value.developer_message) < 300


def test_valid_input_gets_defaults_applied() -> None:
    assert validate_input(SCHEMA, {"count": 3}) == {"count": 3, "mode": "fast"}


def test_missing_required_parameter_is_reported() -> None:
    assert _errors({}) == {"count": "This parameter is required."}


def test_unknown_parameter_is_reported() -> None:
    assert _errors({"count": 1, "colour": "red"}) == {"colour": "Unknown parameter."}


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value: bool) -> None:
    assert _errors({"count": 1, "ratio": value}) == {"ratio": "Expected a number."}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1"])
def test_non_finite_and_string_numbers_are_refused(value: object) -> None:
    assert _errors({"count": 1, "ratio": value}) == {"ratio": "Expected a number."}


def test_integer_accepts_an_integral_float_but_not_a_fraction() -> None:
    assert validate_input(SCHEMA, {"count": 2.0})["count"] == 2.0
    assert _errors({"count": 2.5}) == {"count": "Expected an integer."}


def test_string_length_limits_are_enforced() -> None:
    assert _errors({"count": 1, "label": "toolong"}) == {"label": "Length must be at most 5."}
    assert _errors({"count": 1, "label": ""}) == {"label": "Length must be at least 1."}


def test_enum_is_enforced() -> None:
    assert _errors({"count": 1, "mode": "warp"}) == {"mode": "Expected one of: fast, slow."}


def test_every_bad_parameter_is_reported_at_once() -> None:
    errors = _errors({"ratio": "x", "flag": 1, "extra": None})

    assert set(errors) == {"count", "ratio", "flag", "extra"}


def test_execute_reports_value_call_id_and_duration_in_milliseconds() -> None:
    ticks = _ticks(10.0, 10.25)

    result = execute(_tool(lambda _: 42), _request(), timer=lambda: next(ticks))

    assert result == {"call_id": "call-1", "duration": 250.0, "success": True, "value": 42}


def test_execute_turns_a_tool_error_into_success_false() -> None:
    def refuse(_: Mapping[str, Any]) -> Any:
        raise ToolError("No.", developer_message="because", can_retry=True)

    result = execute(_tool(refuse), _request())

    assert result["success"] is False
    assert result["error"] == {"message": "No.", "developer_message": "because", "can_retry": True}
    assert "value" not in result


def test_execute_hides_an_unexpected_exception_from_the_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crash(_: Mapping[str, Any]) -> Any:
        raise RuntimeError("internal detail: /etc/secret-path")

    result = execute(_tool(crash), _request())

    assert result["success"] is False
    assert "secret-path" not in str(result)
    assert "secret-path" in caplog.text  # the operator still gets the traceback


def test_execute_validates_before_running() -> None:
    ran: list[Mapping[str, Any]] = []
    tool = Tool("Demo", "Run", "1.0.0", "Runs.", SCHEMA, None, ran.append)

    with pytest.raises(InputValidationError):
        execute(tool, _request())
    assert ran == []
