"""The operator sees every refusal and every tool request on stderr, by default, never a secret.

Through HTTP (Flask's test client), reading what the app wrote to stderr: one line per
refusal (the extension's audit line), one per tool request (the app's: tool, status, caller,
duration), and nothing once ``EXAMPLE_LOG_REQUESTS`` turns it off.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from .support import API_KEY, JWT_SECRET, call_body, key_headers, mint

AppFactory = Callable[..., Flask]
LINE = re.compile(r"\[[^]]+\] \[\d+\] \[(INFO|WARNING)\] (flask_otcauth|example_app\.app): .+")


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    lines = capsys.readouterr().err.splitlines()
    assert all(LINE.fullmatch(line) for line in lines), lines
    return lines


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_tool_call_is_one_line_with_tool_status_caller_and_duration(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_app().test_client()
    capsys.readouterr()

    response = client.post("/tools/call", json=call_body("Math.Add", {"a": 1, "b": 2},
                                                           call_id="c-7"), headers=key_headers())

    assert response.status_code == 200
    [line] = stderr_lines(capsys)
    assert re.search(r"example_app\.app: tool call: status=200 caller=api_key:agent-key "
                     r"tool=Math\.Add@1\.0\.0 call_id=c-7 success=true duration=\d+\.\dms$",
                     line), line


def test_a_listing_is_one_line(make_app: AppFactory, capsys: pytest.CaptureFixture[str]) -> None:
    client = make_app().test_client()
    capsys.readouterr()

    assert client.get("/tools", headers=bearer(mint(sub="agent-42"))).status_code == 200

    [line] = stderr_lines(capsys)
    assert re.search(r"tools listed: status=200 caller=jwt:agent-42 tools=4 duration=", line)


@pytest.mark.parametrize(("body", "status", "tool"), [
    (call_body("Math.Pow", {}), 400, "Math.Pow"),
    (call_body("Math.Add", {"a": 1}), 422, "Math.Add@1.0.0"),
], ids=["unknown-tool", "invalid-input"])
def test_a_call_the_protocol_refuses_is_one_line_with_its_status(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str], body: dict[str, object],
    status: int, tool: str,
) -> None:
    client = make_app().test_client()
    capsys.readouterr()

    assert client.post("/tools/call", json=body, headers=key_headers()).status_code == status

    [line] = stderr_lines(capsys)
    assert f"tool call: status={status} caller=api_key:agent-key tool={tool} " in line


@pytest.mark.parametrize(("headers", "status", "reason"), [
    ({}, 401, "missing_credentials"),
    (bearer(mint(aud="someone-else")), 401, "invalid_token"),
    (bearer(mint(scope="tools:call:*")), 403, "insufficient_scope"),
], ids=["no-credential", "foreign-aud", "missing-scope"])
def test_a_refusal_is_one_line_from_the_extension(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str], headers: dict[str, str],
    status: int, reason: str,
) -> None:
    client = make_app().test_client()
    capsys.readouterr()

    assert client.get("/tools", headers=headers).status_code == status

    [line] = stderr_lines(capsys)
    assert f"flask_otcauth: authentication failed: status={status} reason={reason} " in line
    assert "request=GET /tools" in line


def test_a_refused_key_is_its_refusal_line_and_the_reason_before_it(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_app().test_client()
    capsys.readouterr()
    wrong = API_KEY[:-1] + "Z"

    assert client.get("/tools", headers=key_headers(wrong)).status_code == 401

    why, refusal = stderr_lines(capsys)
    assert why.endswith("flask_otcauth: API key refused: unknown")
    assert "authentication failed: status=401 reason=invalid_api_key method=api_key" in refusal
    assert wrong not in why + refusal


def test_a_tool_call_refused_for_its_scope_is_the_refusal_line_alone(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_app().test_client()
    capsys.readouterr()
    token = mint(scope="tools:list tools:call:Math.*")

    response = client.post("/tools/call", json=call_body("Text.Stats", {"text": "a"}),
                           headers=bearer(token))

    assert response.status_code == 403
    [line] = stderr_lines(capsys)
    assert "status=403 reason=insufficient_scope method=jwt request=POST /tools/call" in line


def test_no_line_holds_a_key_a_token_or_a_secret(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_app().test_client()
    token = mint()
    client.get("/tools", headers=key_headers())
    client.get("/tools", headers=bearer(token))
    client.get("/tools", headers=bearer(token[:-2]))
    client.get("/tools?access_token=" + token)

    text = capsys.readouterr().err
    assert text.count("\n") == 4
    for secret in (API_KEY, JWT_SECRET, token, token.split(".")[2][:12], token[:-2]):
        assert secret not in text


def test_a_subject_cannot_forge_a_line(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_app().test_client()
    capsys.readouterr()

    client.get("/tools", headers=bearer(mint(sub="agent\n[INFO] example_app: forged")))

    [line] = capsys.readouterr().err.splitlines()
    assert "caller=jwt:agent\\n[INFO]" in line


def test_two_apps_in_one_process_still_write_one_line_per_request(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    make_app()
    client = make_app().test_client()
    capsys.readouterr()

    client.get("/tools")

    assert len(stderr_lines(capsys)) == 1


@pytest.mark.parametrize("switch", [False, "false"], ids=["setting", "environment-spelling"])
def test_example_log_requests_false_turns_the_lines_off(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str], switch: object
) -> None:
    make_app()  # an earlier app had them on: the latest app's setting wins
    client = make_app(EXAMPLE_LOG_REQUESTS=switch).test_client()
    capsys.readouterr()

    client.get("/tools")
    client.get("/tools", headers=key_headers())

    assert capsys.readouterr().err == ""


def test_an_ambiguous_switch_stops_the_server(make_app: AppFactory) -> None:
    with pytest.raises(ValueError, match="EXAMPLE_LOG_REQUESTS must be true or false"):
        make_app(EXAMPLE_LOG_REQUESTS="sometimes")
