"""Scopes through HTTP: require_auth(scopes=..., any_scopes=...), check_scopes, the 403."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from flask_otcauth import (
    OTCAuth,
    OTCAuthConfigError,
    check_scopes,
    current_identity,
    hash_key,
    require_auth,
)

from ..conftest import base_config
from ..helpers import (
    API_KEY,
    AUDIENCE,
    HMAC_CLIENT,
    HMAC_SECRET,
    api_key,
    assert_refused,
    bearer,
    make_token,
    scope_challenge,
    signed,
)


def scoped_app(*scopes: str, **overrides: Any) -> Flask:
    """API_KEY holds ``scopes``; every view requires something different."""
    config = base_config(OTC_AUTH_API_KEYS=[{"id": "bot", "hash": hash_key(API_KEY),
                                             "scopes": list(scopes)}])
    config.update(overrides)
    app = Flask(__name__)
    app.config.update(config)
    OTCAuth(app)

    @app.get("/list")
    @require_auth(scopes=["tools:list"])
    def list_view() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/both")
    @require_auth(scopes=["tools:list", "tools:call"])
    def both_view() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/either")
    @require_auth(any_scopes=["admin", "tools:call:Math.Add"])
    def either_view() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/tool/<name>")
    @require_auth
    def tool_view(name: str) -> dict[str, Any]:
        check_scopes([f"tools:call:{name}"])
        return {"may": current_identity.has_scope(f"tools:call:{name}")}

    return app


def key_get(app: Flask, path: str) -> TestResponse:
    return app.test_client().get(path, headers=api_key())


def token_get(app: Flask, path: str, **claims: Any) -> TestResponse:
    return app.test_client().get(path, headers=bearer(make_token(aud=AUDIENCE, **claims)))


def test_a_granted_scope_lets_the_key_in() -> None:
    assert key_get(scoped_app("tools:list"), "/list").status_code == 200


def test_a_missing_scope_is_403_never_401() -> None:
    assert_refused(key_get(scoped_app("tools:call"), "/list"), 403, "insufficient_scope",
                   hint="tools:list", challenges=[scope_challenge("tools:list")])


def test_every_required_scope_must_be_granted() -> None:
    assert_refused(key_get(scoped_app("tools:list"), "/both"), 403, "insufficient_scope",
                   hint="tools:call", challenges=[scope_challenge("tools:call")])
    assert key_get(scoped_app("tools:list", "tools:call"), "/both").status_code == 200


def test_one_of_any_scopes_is_enough() -> None:
    assert key_get(scoped_app("tools:call:Math.Add"), "/either").status_code == 200
    assert_refused(key_get(scoped_app("tools:list"), "/either"), 403, "insufficient_scope",
                   hint="admin tools:call:Math.Add",
                   challenges=[scope_challenge("admin tools:call:Math.Add")])


def test_a_wildcard_grants_the_scopes_below_it() -> None:
    assert key_get(scoped_app("tools:call:*"), "/either").status_code == 200
    assert key_get(scoped_app("tools:call:Math.*"), "/tool/Math.Add").json == {"may": True}


def test_check_scopes_refuses_from_inside_the_view() -> None:
    assert_refused(key_get(scoped_app("tools:call:Math.*"), "/tool/Text.Upper"), 403,
                   "insufficient_scope", hint="tools:call:Text.Upper",
                   challenges=[scope_challenge("tools:call:Text.Upper")])


def test_check_scopes_in_an_open_view_authenticates_first() -> None:
    app = scoped_app("tools:call:Math.Add")

    @app.get("/open/<name>")
    def open_view(name: str) -> dict[str, Any]:
        check_scopes([f"tools:call:{name}"])
        return {"caller": current_identity.subject}

    client = app.test_client()
    assert client.get("/open/Math.Add").status_code == 401
    assert client.get("/open/Math.Add", headers=api_key()).json == {"caller": "bot"}
    assert_refused(client.get("/open/Text.Stats", headers=api_key()), 403, "insufficient_scope",
                   hint="tools:call:Text.Stats",
                   challenges=[scope_challenge("tools:call:Text.Stats")])


def test_a_plain_string_key_holds_no_scopes() -> None:
    app = scoped_app(OTC_AUTH_API_KEYS=[API_KEY])

    assert_refused(key_get(app, "/list"), 403, "insufficient_scope", hint="tools:list",
                   challenges=[scope_challenge("tools:list")])


def test_missing_credentials_on_a_scoped_view_are_still_401() -> None:
    assert scoped_app("tools:list").test_client().get("/list").status_code == 401


def test_jwt_scope_claim_grants_scopes() -> None:
    app = scoped_app()

    assert token_get(app, "/both", scope="tools:list tools:call").status_code == 200
    assert_refused(token_get(app, "/both", scope="tools:list"), 403, "insufficient_scope",
                   hint="tools:call", challenges=[scope_challenge("tools:call")])


def test_jwt_scp_claim_grants_scopes() -> None:
    assert token_get(scoped_app(), "/list", scp=["tools:list"]).status_code == 200


def test_jwt_scope_wins_over_scp() -> None:
    response = token_get(scoped_app(), "/list", scope="tools:call", scp=["tools:list"])

    assert_refused(response, 403, "insufficient_scope", hint="tools:list",
                   challenges=[scope_challenge("tools:list")])


def test_jwt_with_a_malformed_scope_claim_is_401() -> None:
    response = token_get(scoped_app(), "/list", scope=["tools:list"])

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"


def test_no_auth_mode_opens_scoped_views() -> None:
    app = scoped_app(OTC_AUTH_METHODS=["none"])
    client = app.test_client()

    assert client.get("/list").status_code == 200
    assert client.get("/tool/Math.Add").json == {"may": True}


def test_refused_scopes_do_not_count_as_failed_attempts() -> None:
    app = scoped_app("tools:call", OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    client = app.test_client()

    assert [client.get("/list", headers=api_key()).status_code for _ in range(3)] == [403] * 3
    assert client.get("/both", headers=api_key()).status_code == 403


def test_optional_with_scopes_is_refused_at_decoration() -> None:
    with pytest.raises(ValueError, match="optional"):
        require_auth(optional=True, scopes=["tools:list"])


@pytest.mark.parametrize("scopes", [["tools list"], ["tools:call:*"], "tools:list"])
def test_malformed_required_scopes_are_refused_at_decoration(scopes: Any) -> None:
    with pytest.raises(ValueError, match="scope"):
        require_auth(scopes=scopes)


def test_a_second_check_in_one_request_applies_its_own_scopes() -> None:
    app = scoped_app("tools:list")
    app.before_request(lambda: app.extensions["otcauth"].verify_request() and None)

    assert key_get(app, "/list").status_code == 200
    assert_refused(key_get(app, "/both"), 403, "insufficient_scope", hint="tools:call",
                   challenges=[scope_challenge("tools:call")])


# Signing clients ---------------------------------------------------------------------------


def hmac_scoped_app(client_entry: Any) -> Flask:
    return scoped_app(OTC_AUTH_METHODS=["hmac"],
                      OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: client_entry})


def test_a_signing_client_record_grants_its_scopes() -> None:
    app = hmac_scoped_app({"secrets": [HMAC_SECRET], "scopes": ["tools:list"]})

    assert app.test_client().get("/list", headers=signed("GET", "/list")).status_code == 200
    assert_refused(app.test_client().get("/both", headers=signed("GET", "/both")), 403,
                   "insufficient_scope", hint="tools:call",
                   challenges=[scope_challenge("tools:call")])


def test_a_signing_client_given_by_its_secret_holds_no_scopes() -> None:
    app = hmac_scoped_app(HMAC_SECRET)

    assert_refused(app.test_client().get("/list", headers=signed("GET", "/list")), 403,
                   "insufficient_scope", hint="tools:list",
                   challenges=[scope_challenge("tools:list")])


@pytest.mark.parametrize(("entry", "expected"), [
    ({"secrets": [HMAC_SECRET], "scope": ["x"]}, "unknown fields ['scope']"),
    ({"secrets": [HMAC_SECRET], "scopes": "tools:list"}, ".scopes must be a list"),
    ({"secrets": [HMAC_SECRET], "scopes": ["a b"]}, ".scopes: "),
    ({"scopes": ["tools:list"]}, '["tool-caller"].secrets must be a secret'),
    ({"secrets": ["short"]}, '["tool-caller"].secrets[0] is 5 bytes'),
])
def test_a_bad_signing_client_record_is_refused(entry: Any, expected: str) -> None:
    with pytest.raises(OTCAuthConfigError) as raised:
        hmac_scoped_app(entry)

    assert expected in str(raised.value)
    assert HMAC_SECRET not in str(raised.value)
