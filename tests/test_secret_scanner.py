"""The attack suite's secret scanner finds what it must: a test of the test's own instrument."""

from __future__ import annotations

import logging

from flask import Flask, request

from .helpers import API_KEY, JWT_SECRET, bearer, make_token
from .security.support import credential_parts, leaks, scanning


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
