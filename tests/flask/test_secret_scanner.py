"""The attack suite's secret scanner finds what it must: a test of the test's own instrument."""

from __future__ import annotations

import logging

from flask import Flask, request

from ..conftest import build_app
from ..helpers import API_KEY, JWT_SECRET, bearer, credential_parts, leaks, make_token
from ..security.support import scanning

FORM_TOKEN = "form-token-" + "Wd3Hk" * 6
COOKIE_TOKEN = "cookie-token-" + "Yp8Qs" * 6


def leaky_app() -> Flask:
    app = Flask(__name__)
    app.config["OTC_AUTH_JWT_SECRET"] = JWT_SECRET

    @app.get("/echo-header")
    def echo_header() -> str:
        return request.headers.get("Authorization", "")

    @app.get("/log-key")
    def log_key() -> str:
        logging.getLogger("flask_otcauth").debug("key=%s", request.headers.get("OTC-API-Key"))
        return "ok"

    @app.get("/leak-config")
    def leak_config() -> dict[str, str]:
        return {"debug": app.config["OTC_AUTH_JWT_SECRET"]}

    @app.post("/echo-form")
    def echo_form() -> str:
        return "you sent " + request.form.get("access_token", "")

    @app.get("/echo-cookie")
    def echo_cookie() -> str:
        return "you sent " + request.cookies.get("session", "")

    @app.get("/deny")
    def deny() -> tuple[dict[str, str], int]:
        return {"error": "denied"}, 401  # refused, but past the audit trail

    return app


def test_scanner_finds_a_presented_token_echoed_in_a_response() -> None:
    token = make_token(sub="a")
    with scanning() as exposure:
        leaky_app().test_client().get("/echo-header", headers=bearer(token))
    assert exposure.responses == 1
    assert exposure.leaks()


def test_scanner_finds_a_presented_key_in_a_log_record_arguments() -> None:
    with scanning() as exposure:
        leaky_app().test_client().get("/log-key", headers={"OTC-API-Key": API_KEY})
    assert exposure.records >= 1
    assert exposure.leaks() == [API_KEY[:6] + "..."]


def test_scanner_finds_a_configured_secret_never_presented() -> None:
    with scanning() as exposure:
        leaky_app().test_client().get("/leak-config")
    assert exposure.leaks() == [JWT_SECRET[:6] + "..."]


def test_scanner_is_quiet_when_nothing_leaks() -> None:
    with scanning() as exposure:
        leaky_app().test_client().get("/log-key")
    assert exposure.leaks() == []


def test_a_jwt_signature_alone_counts_as_a_leak() -> None:
    token = make_token(sub="a")
    signature = token.rpartition(".")[2]
    assert leaks([f"sig={signature}"], credential_parts(f"Bearer {token}"))
    assert not leaks(["short"], credential_parts("Bearer short"))


def test_scanner_finds_a_form_value_echoed_in_a_response() -> None:
    with scanning() as exposure:
        response = leaky_app().test_client().post("/echo-form",
                                                  data={"access_token": FORM_TOKEN})
    assert response.get_data(as_text=True) == "you sent " + FORM_TOKEN  # the view saw the form
    assert exposure.leaks() == [FORM_TOKEN[:6] + "..."]


def test_scanner_finds_a_cookie_value_echoed_in_a_response() -> None:
    with scanning() as exposure:
        client = leaky_app().test_client()
        client.set_cookie("session", COOKIE_TOKEN)
        client.get("/echo-cookie")
    assert exposure.leaks() == [COOKIE_TOKEN[:6] + "..."]


def test_scanner_counts_each_refusal_and_its_audit_record() -> None:
    with scanning() as exposure:
        client = build_app().test_client()
        client.get("/tools")
        client.get("/tools", headers={"OTC-API-Key": API_KEY})
    assert (exposure.responses, exposure.refusals, exposure.audit_records) == (2, 1, 2)
    assert exposure.unaudited_refusals() == 0


def test_scanner_notices_a_refusal_that_left_no_audit_record() -> None:
    with scanning() as exposure:
        leaky_app().test_client().get("/deny")
    assert exposure.refusals == 1
    assert exposure.unaudited_refusals() == 1
