"""The audit trail: a signal and a structured log record per decision, never a secret."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_otcauth import AuditEvent, auth_failed, auth_succeeded, rate_limited, require_auth

from ..conftest import AppFactory
from ..helpers import API_KEY, AUDIENCE, bearer, make_token

Received = list[tuple[Flask, dict[str, Any]]]


@pytest.fixture
def received(app: Flask) -> Iterator[dict[str, Received]]:
    """What each signal sent for ``app``."""
    log: dict[str, Received] = {"succeeded": [], "failed": [], "rate_limited": []}
    receivers = {name: (lambda sender, _name=name, **kwargs: log[_name].append((sender, kwargs)))
                 for name in log}
    signals = {"succeeded": auth_succeeded, "failed": auth_failed, "rate_limited": rate_limited}
    for name, signal in signals.items():
        signal.connect(receivers[name], app)
    yield log
    for name, signal in signals.items():
        signal.disconnect(receivers[name], app)


def audit_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [record.otcauth for record in caplog.records if hasattr(record, "otcauth")]


def test_success_sends_the_identity_and_logs_who_called(
    app: Flask, client: FlaskClient, received: dict[str, Received],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    client.get("/tools", headers=bearer(make_token(sub="agent-7", aud=AUDIENCE)))
    [(sender, sent)] = received["succeeded"]
    assert sender is app
    assert sent["identity"].subject == "agent-7"
    assert isinstance(sent["event"], AuditEvent)
    assert audit_records(caplog) == [{
        "outcome": "succeeded", "status": None, "reason": None, "method": "jwt",
        "http_method": "GET", "path": "/tools", "client_address": "127.0.0.1",
        "subject": "agent-7", "client": AUDIENCE, "fingerprint": None, "caller": None,
        "skew": None, "required_scopes": None, "scope_source": None,
        "revocation": None,
    }]


def test_api_key_success_is_logged_by_the_keys_fingerprint(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    client.get("/tools", headers={"OTC-API-Key": API_KEY})
    [record] = audit_records(caplog)
    assert record["subject"] == "key:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:12]
    assert API_KEY not in caplog.text


def test_failure_sends_its_reason_and_the_credentials_fingerprint(
    client: FlaskClient, received: dict[str, Received], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    wrong_key = "wrong-key-" + "q" * 30
    client.get("/tools?x=1", headers={"OTC-API-Key": wrong_key})
    [(_, sent)] = received["failed"]
    assert sent["reason"] == "invalid_api_key"
    assert sent["failure"].status == 401
    [record] = audit_records(caplog)
    assert record["outcome"] == "failed"
    assert record["method"] == "api_key"
    assert record["path"] == "/tools"  # never the query string
    assert record["fingerprint"] == hashlib.sha256(wrong_key.encode()).hexdigest()[:8]
    assert wrong_key not in caplog.text
    assert "reason=invalid_api_key" in caplog.text


def test_missing_credentials_fail_without_a_fingerprint(
    client: FlaskClient, received: dict[str, Received]
) -> None:
    client.get("/tools")
    [(_, sent)] = received["failed"]
    assert sent["reason"] == "missing_credentials"
    assert sent["event"].fingerprint is None
    assert received["succeeded"] == []


def test_rate_limited_request_sends_rate_limited_and_logs_a_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(OTC_AUTH_RATELIMIT="1/minute")
    limited: Received = []

    def receiver(sender: Flask, **kwargs: Any) -> None:
        limited.append((sender, kwargs))

    rate_limited.connect(receiver, app)
    try:
        client = app.test_client()
        client.get("/tools", headers={"OTC-API-Key": API_KEY})
        with caplog.at_level("INFO", logger="flask_otcauth"):
            assert client.get("/tools", headers={"OTC-API-Key": API_KEY}).status_code == 429
    finally:
        rate_limited.disconnect(receiver, app)
    [(_, sent)] = limited
    assert sent["reason"] == "rate_limited"
    assert sent["event"].subject.startswith("key:")  # a verified caller ran out of budget
    assert [r.levelname for r in caplog.records if hasattr(r, "otcauth")] == ["WARNING"]


def test_https_refusal_is_a_failure_with_its_reason(make_app: AppFactory) -> None:
    app = make_app(OTC_AUTH_REQUIRE_HTTPS=True)
    reasons: list[str] = []
    auth_failed.connect(lambda sender, **kwargs: reasons.append(kwargs["reason"]), app,
                        weak=False)
    app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY})
    assert reasons == ["https_required"]


def test_signals_are_per_app(make_app: AppFactory, received: dict[str, Received]) -> None:
    make_app().test_client().get("/tools")
    assert received["failed"] == []


def test_log_line_escapes_control_characters_from_the_client(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    make_app(OTC_AUTH_PROTECT_ALL=True).test_client().get("/x%0Aauthentication%20succeeded")
    [record] = [r for r in caplog.records if hasattr(r, "otcauth")]
    assert record.otcauth["path"] == "/x\nauthentication succeeded"
    assert "\n" not in record.getMessage()
    assert "/x\\nauthentication succeeded" in record.getMessage()


def test_insufficient_scope_is_a_failure_naming_the_verified_caller(make_app: AppFactory) -> None:
    app = make_app()

    @app.get("/admin")
    @require_auth(scopes=["admin"])
    def admin() -> str:
        return "admin"

    events: list[AuditEvent] = []
    auth_failed.connect(lambda sender, **kwargs: events.append(kwargs["event"]), app, weak=False)
    response = app.test_client().get("/admin", headers=bearer(make_token(sub="agent-7")))
    assert response.status_code == 403
    [event] = events
    assert (event.reason, event.subject, event.path) == ("insufficient_scope", "agent-7", "/admin")


def test_failure_lockout_sends_rate_limited_with_its_reason(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    limited: Received = []
    failed: Received = []

    def on_limited(sender: Flask, **kwargs: Any) -> None:
        limited.append((sender, kwargs))

    def on_failed(sender: Flask, **kwargs: Any) -> None:
        failed.append((sender, kwargs))

    rate_limited.connect(on_limited, app)
    auth_failed.connect(on_failed, app)
    try:
        client = app.test_client()
        for attempt in range(2):
            assert client.get("/tools", headers={"OTC-API-Key": f"guess-{attempt}-" + "x" * 30}
                              ).status_code == 401
        with caplog.at_level("INFO", logger="flask_otcauth"):
            response = client.get("/tools", headers={"OTC-API-Key": API_KEY})
    finally:
        auth_failed.disconnect(on_failed, app)
        rate_limited.disconnect(on_limited, app)
    assert response.status_code == 429
    [(sender, sent)] = limited
    assert sender is app
    assert sent["reason"] == "too_many_failed_attempts"
    assert sent["failure"].status == 429
    assert (sent["event"].outcome, sent["event"].status) == ("rate_limited", 429)
    assert sent["event"].client_address == "127.0.0.1"
    assert [kwargs["reason"] for _, kwargs in failed] == ["invalid_api_key"] * 2
    [record] = audit_records(caplog)
    assert record["reason"] == "too_many_failed_attempts"
    assert [r.levelname for r in caplog.records if hasattr(r, "otcauth")] == ["WARNING"]


def credential_headers(credential: str, length: int) -> dict[str, str]:
    """A junk token or API key of ``length`` characters."""
    if credential == "token":
        return bearer("a" * length)
    return {"OTC-API-Key": "k" * length}


@pytest.mark.parametrize("credential", ["token", "API key"])
def test_a_credential_over_8192_characters_is_refused_without_a_fingerprint(
    client: FlaskClient, received: dict[str, Received], credential: str
) -> None:
    """Hashing a megabyte of junk would cost a millisecond per refusal: it is not named."""
    response = client.get("/tools", headers=credential_headers(credential, 8193))
    assert response.status_code == 401
    [(_, sent)] = received["failed"]
    assert sent["failure"].fingerprint is None
    assert sent["event"].fingerprint is None


@pytest.mark.parametrize("credential", ["token", "API key"])
def test_a_refused_credential_of_8192_characters_has_a_fingerprint(
    client: FlaskClient, received: dict[str, Received], credential: str
) -> None:
    response = client.get("/tools", headers=credential_headers(credential, 8192))
    assert response.status_code == 401
    [(_, sent)] = received["failed"]
    value = "a" * 8192 if credential == "token" else "k" * 8192
    assert sent["event"].fingerprint == hashlib.sha256(value.encode()).hexdigest()[:8]
