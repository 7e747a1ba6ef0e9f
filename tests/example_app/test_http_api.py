"""The three OTC endpoints through Flask's test client, authenticated with the API key."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient

from .conftest import CallTool
from .support import key_headers


def test_health_answers_ok(client: FlaskClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer junk"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"OTC-API-Key": "wrong"},
    ],
)
def test_health_ignores_junk_credentials(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/health", headers=headers)

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_list_tools_returns_the_definitions_under_items(client: FlaskClient) -> None:
    response = client.get("/tools", headers=key_headers())

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["$schema"] == "urn:oxp:1.0"
    assert [item["id"] for item in response.json["items"]] == [
        "Math.Add@1.0.0",
        "Math.Divide@1.0.0",
        "Text.Stats@1.0.0",
        "Time.UtcNow@1.0.0",
    ]


def test_list_tools_shows_the_input_schema(client: FlaskClient) -> None:
    response = client.get("/tools", headers=key_headers())

    assert response.json is not None
    add = response.json["items"][0]
    assert add["input_schema"]["parameters"]["required"] == ["a", "b"]
    assert add["output_schema"] == {"type": "number"}


def test_add_succeeds(call_tool: CallTool) -> None:
    response = call_tool("Math.Add@1.0.0", {"a": 2, "b": 3})

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["result"]["success"] is True
    assert response.json["result"]["value"] == 5


def test_divide_succeeds(call_tool: CallTool) -> None:
    response = call_tool("Math.Divide@1", {"dividend": 1, "divisor": 8})

    assert response.json is not None
    assert response.json["result"]["value"] == 0.125


def test_text_stats_succeeds(call_tool: CallTool) -> None:
    response = call_tool("Text.Stats", {"text": "one two\nthree"})

    assert response.json is not None
    assert response.json["result"]["value"] == {"characters": 13, "words": 3, "lines": 2}


def test_utc_now_succeeds_with_the_current_time(call_tool: CallTool) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    response = call_tool("Time.UtcNow", {})
    after = datetime.now(timezone.utc)

    assert response.json is not None
    value = datetime.fromisoformat(response.json["result"]["value"].replace("Z", "+00:00"))
    assert value.utcoffset() == timedelta(0)
    assert before <= value <= after


def test_result_has_call_id_duration_and_schema(call_tool: CallTool) -> None:
    response = call_tool("Math.Add", {"a": 1, "b": 1}, call_id="my-call")

    assert response.json is not None
    assert response.json["$schema"] == "urn:oxp:1.0"
    assert response.json["result"]["call_id"] == "my-call"
    assert response.json["result"]["duration"] >= 0


def test_call_id_is_generated_when_missing(call_tool: CallTool) -> None:
    first = call_tool("Math.Add", {"a": 1, "b": 1}).json
    second = call_tool("Math.Add", {"a": 1, "b": 1}).json

    assert first is not None
    assert second is not None
    assert uuid.UUID(first["result"]["call_id"]).version == 4
    assert first["result"]["call_id"] != second["result"]["call_id"]


def test_response_answers_in_the_schema_the_client_named(client: FlaskClient) -> None:
    body = {"$schema": "otc://1.0", "request": {"tool_id": "Math.Add", "input": {"a": 1, "b": 2}}}

    response = client.post("/tools/call", json=body, headers=key_headers())

    assert response.json is not None
    assert response.json["$schema"] == "otc://1.0"


def test_tool_error_is_200_with_success_false(call_tool: CallTool) -> None:
    response = call_tool("Math.Divide", {"dividend": 1, "divisor": 0})

    assert response.status_code == 200
    assert response.json is not None
    result = response.json["result"]
    assert result["success"] is False
    assert result["error"]["message"] == "Cannot divide by zero."
    assert "value" not in result


def test_unknown_tool_is_400(call_tool: CallTool) -> None:
    response = call_tool("Math.Power", {"a": 1})

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["message"] == "Unknown tool."
    assert "Math.Power" in response.json["developer_message"]


def test_unknown_version_is_400(call_tool: CallTool) -> None:
    response = call_tool("Math.Add@2.0.0", {"a": 1, "b": 2})

    assert response.status_code == 400
    assert response.json is not None
    assert "known: 1.0.0" in response.json["developer_message"]


def test_unsupported_schema_is_400(client: FlaskClient) -> None:
    body = {"$schema": "urn:oxp:2.0", "request": {"tool_id": "Math.Add", "input": {}}}

    response = client.post("/tools/call", json=body, headers=key_headers())

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["message"] == "Unsupported protocol version."


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '{"request": []}', '"text"'])
def test_malformed_body_is_400(client: FlaskClient, data: str) -> None:
    headers = {**key_headers(), "Content-Type": "application/json"}

    response = client.post("/tools/call", data=data, headers=headers)

    assert response.status_code == 400
    assert response.json is not None
    assert set(response.json) == {"message", "developer_message"}


def test_non_json_content_type_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/tools/call",
        data="tool_id=Math.Add",
        headers=key_headers(),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json is not None
    assert "application/json" in response.json["developer_message"]


def test_missing_parameter_is_422(call_tool: CallTool) -> None:
    response = call_tool("Math.Add", {"a": 1})

    assert response.status_code == 422
    assert response.json == {
        "message": "The tool input is invalid.",
        "parameter_errors": {"b": "This parameter is required."},
    }


def test_wrong_type_is_422(call_tool: CallTool) -> None:
    response = call_tool("Math.Add", {"a": "1", "b": True})

    assert response.status_code == 422
    assert response.json is not None
    assert response.json["parameter_errors"] == {
        "a": "Expected a number.",
        "b": "Expected a number.",
    }


def test_unknown_parameter_is_422(call_tool: CallTool) -> None:
    response = call_tool("Text.Stats", {"text": "x", "language": "en"})

    assert response.status_code == 422
    assert response.json is not None
    assert response.json["parameter_errors"] == {"language": "Unknown parameter."}


def test_nan_from_lenient_json_parsing_is_422(client: FlaskClient) -> None:
    data = '{"request": {"tool_id": "Math.Add", "input": {"a": NaN, "b": 1}}}'

    response = client.post(
        "/tools/call", data=data, headers=key_headers(), content_type="application/json"
    )

    assert response.status_code == 422


def test_unknown_path_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/tool", headers=key_headers())

    assert response.status_code == 404
    assert response.json is not None
    assert response.json["message"] == "Not Found"


def test_wrong_method_is_a_json_405_with_allow(client: FlaskClient) -> None:
    response = client.get("/tools/call", headers=key_headers())

    assert response.status_code == 405
    assert response.json is not None
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_a_json_413(client: FlaskClient) -> None:
    data = '{"request": {"tool_id": "Text.Stats", "input": {"text": "' + "x" * 2_000_000 + '"}}}'

    response = client.post(
        "/tools/call", data=data, headers=key_headers(), content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json is not None
    assert response.json["message"] == "Request Entity Too Large"
