"""Revocation through HTTP (Flask test client, memory storage): each entry refuses with
401 credential_revoked, and only what it names."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from flask_otcauth import OTCAuth, require_auth

from ..helpers import API_KEY, AUDIENCE, JWT_SECRET, api_key, bearer, key_record, make_token


def make_app(**config: Any) -> tuple[Flask, OTCAuth]:
    app = Flask(__name__)
    app.config.update({"TESTING": True, "OTC_AUTH_METHODS": ["jwt", "api_key"],
                       "OTC_AUTH_JWT_SECRET": JWT_SECRET, "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE],
                       "OTC_AUTH_API_KEYS": [key_record()], "OTC_AUTH_REVOCATION": True,
                       "OTC_AUTH_RATELIMIT": None, "OTC_AUTH_FAILURE_RATELIMIT": None, **config})
    auth = OTCAuth(app)

    @app.get("/tools")
    @require_auth()
    def tools() -> dict[str, str]:
        return {"ok": "yes"}

    return app, auth


def test_a_revoked_jti_is_refused_with_credential_revoked() -> None:
    app, auth = make_app()
    token = make_token(aud=AUDIENCE, sub="agent", jti="j-1")
    client = app.test_client()
    assert client.get("/tools", headers=bearer(token)).status_code == 200
    with app.app_context():
        auth.revoke_token("j-1")
    response = client.get("/tools", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "credential_revoked"


def test_another_jti_stays_accepted() -> None:
    app, auth = make_app()
    with app.app_context():
        auth.revoke_token("j-1")
    token = make_token(aud=AUDIENCE, sub="agent", jti="j-2")
    assert app.test_client().get("/tools", headers=bearer(token)).status_code == 200


def test_a_cut_off_refuses_older_tokens_and_accepts_newer_ones() -> None:
    app, auth = make_app()
    now = time.time()
    with app.app_context():
        auth.revoke_before("subject", "agent", now)
    old = make_token(aud=AUDIENCE, sub="agent", iat=int(now) - 10)
    new = make_token(aud=AUDIENCE, sub="agent", iat=int(now) + 1)
    client = app.test_client()
    assert client.get("/tools", headers=bearer(old)).status_code == 401
    assert client.get("/tools", headers=bearer(new)).status_code == 200


def test_a_tenant_cut_off_refuses_the_older_jwt_tokens_its_tenant_claim_names() -> None:
    app, auth = make_app(OTC_AUTH_TENANT_CLAIM="org")
    now = time.time()
    with app.app_context():
        auth.revoke_before("tenant", "acme", now)
    acme = make_token(aud=AUDIENCE, sub="agent", org="acme", iat=int(now) - 10)
    globex = make_token(aud=AUDIENCE, sub="agent", org="globex", iat=int(now) - 10)
    client = app.test_client()
    response = client.get("/tools", headers=bearer(acme))
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "credential_revoked"
    assert client.get("/tools", headers=bearer(globex)).status_code == 200


def test_a_token_without_iat_counts_as_issued_at_exp_minus_the_max_lifetime() -> None:
    app, auth = make_app(OTC_AUTH_REVOCATION_MAX_LIFETIME=600)
    with app.app_context():
        auth.revoke_before("subject", "agent", time.time() - 200)
    # exp 300 s ahead: issued at the earliest 300 s ago, before the cut-off 200 s ago.
    token = make_token(aud=AUDIENCE, sub="agent", ttl=300)
    assert app.test_client().get("/tools", headers=bearer(token)).status_code == 401


def test_a_disabled_key_is_refused_and_enabled_again() -> None:
    app, auth = make_app()
    client = app.test_client()
    assert client.get("/tools", headers=api_key(API_KEY)).status_code == 200
    with app.app_context():
        auth.revoke_key("api_key", "ci-bot")
        assert auth.is_key_revoked("api_key", "ci-bot")
    assert client.get("/tools", headers=api_key(API_KEY)).status_code == 401
    with app.app_context():
        auth.unrevoke_key("api_key", "ci-bot")
    assert client.get("/tools", headers=api_key(API_KEY)).status_code == 200


def test_require_jti_refuses_a_token_without_one() -> None:
    app, _ = make_app(OTC_AUTH_REVOCATION_REQUIRE_JTI=True)
    token = make_token(aud=AUDIENCE, sub="agent")
    response = app.test_client().get("/tools", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "invalid_token"


def test_the_api_raises_while_revocation_is_off() -> None:
    app, auth = make_app(OTC_AUTH_REVOCATION=False)
    with app.app_context(), pytest.raises(RuntimeError, match="OTC_AUTH_REVOCATION is off"):
        auth.revoke_token("j-1")


def test_the_audit_event_names_the_matched_revocation_and_never_the_token(
        caplog: pytest.LogCaptureFixture) -> None:
    app, auth = make_app()
    token = make_token(aud=AUDIENCE, sub="agent", jti="j-audit")
    with app.app_context():
        auth.revoke_token("j-audit")
    caplog.set_level("INFO", logger="flask_otcauth")
    app.test_client().get("/tools", headers=bearer(token))
    [event] = [record.otcauth for record in caplog.records if hasattr(record, "otcauth")]
    assert (event["reason"], event["revocation"]) == ("credential_revoked", "jti j-audit revoked")
    assert token not in caplog.text
