"""OTC_AUTH_SCOPELESS_GRANTS: what a credential without scope information may do, through HTTP.

The OTC spec has no scopes, so a spec client's token (``{"aud": ..., "exp": ...}``) and a plain
key carry none; such credentials get the setting's scopes (none by default), while a credential
that carries scopes, even an empty list, is held to exactly them. A 403's audit record names
the setting or record the scopes came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from flask_otcauth import OTCAuth, OTCAuthConfigError, current_identity, require_auth

from ..conftest import base_config
from ..helpers import (
    API_KEY,
    AUDIENCE,
    HMAC_CLIENT,
    HMAC_SECRET,
    api_key,
    assert_refused,
    bearer,
    key_record,
    make_token,
    scope_challenge,
    signed,
)

ALL_TOOLS = ["tools:call:*", "tools:list"]  # sorted, as the views answer them


def grants_app(grants: list[str] | None = None, **overrides: Any) -> Flask:
    """``/list`` needs tools:list, ``/call`` tools:call:Math.Add; ``grants`` unset: default."""
    config = base_config(**{"OTC_AUTH_METHODS": ["jwt", "api_key", "hmac"],
                            "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: HMAC_SECRET}, **overrides})
    if grants is not None:
        config["OTC_AUTH_SCOPELESS_GRANTS"] = grants
    app = Flask(__name__)
    app.config.update(config)
    OTCAuth(app)

    @app.get("/list")
    @require_auth(scopes=["tools:list"])
    def list_view() -> dict[str, Any]:
        return {"scopes": sorted(current_identity.scopes),
                "source": current_identity.scope_source}

    @app.get("/call")
    @require_auth(scopes=["tools:call:Math.Add"])
    def call_view() -> dict[str, Any]:
        return {"ok": True}

    return app


def get(app: Flask, path: str, headers: dict[str, str]) -> TestResponse:
    return app.test_client().get(path, headers=headers)


def spec_token(**claims: Any) -> dict[str, str]:
    """The spec's minimal token, plus ``claims``."""
    return bearer(make_token(aud=AUDIENCE, **claims))


SCOPELESS_CREDENTIALS: dict[str, Callable[[], dict[str, str]]] = {
    "a plain key": api_key,
    "a JWT without scope or scp": spec_token,
    "an hmac client given by its secret": lambda: signed("GET", "/list"),
}


@pytest.mark.parametrize("credential", SCOPELESS_CREDENTIALS)
def test_by_default_a_scopeless_credential_passes_no_scoped_view(credential: str) -> None:
    response = get(grants_app(), "/list", SCOPELESS_CREDENTIALS[credential]())
    assert_refused(response, 403, "insufficient_scope", hint="tools:list",
                   challenges=[scope_challenge("tools:list")])


@pytest.mark.parametrize("credential", SCOPELESS_CREDENTIALS)
def test_a_scopeless_credential_is_granted_the_setting_s_scopes(credential: str) -> None:
    response = get(grants_app(ALL_TOOLS), "/list", SCOPELESS_CREDENTIALS[credential]())
    assert response.status_code == 200, response.json
    assert response.json == {"scopes": ALL_TOOLS, "source": "OTC_AUTH_SCOPELESS_GRANTS"}


def test_a_granted_wildcard_covers_every_tool() -> None:
    assert get(grants_app(["tools:call:*"]), "/call", api_key()).status_code == 200


def test_a_key_record_without_scopes_is_granted_the_setting_s_scopes() -> None:
    app = grants_app(ALL_TOOLS, OTC_AUTH_API_KEYS=[key_record()])
    assert get(app, "/list", api_key()).json == {"scopes": ALL_TOOLS,
                                                  "source": "OTC_AUTH_SCOPELESS_GRANTS"}


def test_a_key_record_with_empty_scopes_is_held_to_them() -> None:
    app = grants_app(ALL_TOOLS, OTC_AUTH_API_KEYS=[key_record(scopes=[])])
    assert_refused(get(app, "/list", api_key()), 403, "insufficient_scope", hint="tools:list")


def test_a_key_record_s_scopes_are_all_it_may_do_whatever_the_setting_grants() -> None:
    app = grants_app(ALL_TOOLS, OTC_AUTH_API_KEYS=[key_record(scopes=["tools:list"])])
    assert get(app, "/list", api_key()).json == {"scopes": ["tools:list"],
                                                  "source": 'key record "ci-bot"'}
    assert_refused(get(app, "/call", api_key()), 403, "insufficient_scope",
                   hint="tools:call:Math.Add")


@pytest.mark.parametrize("claims", [{"scope": ""}, {"scp": []}])
def test_a_token_with_an_empty_scope_claim_is_held_to_it(claims: dict[str, Any]) -> None:
    assert_refused(get(grants_app(ALL_TOOLS), "/list", spec_token(**claims)), 403,
                   "insufficient_scope")


@pytest.mark.parametrize(("claims", "source"), [
    ({"scope": "tools:list"}, "the token's scope claim"),
    ({"scp": ["tools:list"]}, "the token's scp claim"),
])
def test_a_token_s_scopes_are_all_it_may_do(claims: dict[str, Any], source: str) -> None:
    app = grants_app(ALL_TOOLS)
    assert get(app, "/list", spec_token(**claims)).json == {"scopes": ["tools:list"],
                                                            "source": source}
    assert_refused(get(app, "/call", spec_token(**claims)), 403, "insufficient_scope")


def test_an_hmac_client_record_without_scopes_is_granted_the_setting_s_scopes() -> None:
    app = grants_app(ALL_TOOLS, OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: {"secrets": [HMAC_SECRET]}})
    assert get(app, "/list", signed("GET", "/list")).status_code == 200


def test_an_hmac_client_record_with_scopes_is_held_to_them() -> None:
    app = grants_app(ALL_TOOLS, OTC_AUTH_HMAC_CLIENTS={
        HMAC_CLIENT: {"secrets": [HMAC_SECRET], "scopes": ["tools:list"]}})
    assert get(app, "/list", signed("GET", "/list")).json == {
        "scopes": ["tools:list"], "source": f'OTC_AUTH_HMAC_CLIENTS["{HMAC_CLIENT}"]'}
    assert_refused(get(app, "/call", signed("GET", "/call")), 403, "insufficient_scope")


def refusal_records(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [record for record in caplog.records
            if getattr(record, "otcauth", {}).get("status") == 403]


def test_the_403_log_line_names_the_setting_that_grants_the_scopes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    get(grants_app(), "/list", api_key())
    [record] = refusal_records(caplog)
    assert record.otcauth["required_scopes"] == ("tools:list",)
    assert record.otcauth["scope_source"] == "OTC_AUTH_SCOPELESS_GRANTS"
    assert ("required_scopes=tools:list scopes_from=OTC_AUTH_SCOPELESS_GRANTS"
            in record.getMessage())
    assert API_KEY not in caplog.text


def test_the_403_log_line_names_the_key_record_that_grants_the_scopes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="flask_otcauth")
    get(grants_app(OTC_AUTH_API_KEYS=[key_record(scopes=["tools:list"])]), "/call", api_key())
    [record] = refusal_records(caplog)
    assert 'scopes_from=key record "ci-bot"' in record.getMessage()


@pytest.mark.parametrize(("value", "message"), [
    ("tools:list,tools:call:*", '["tools:list", "tools:call:*"]'),
    ("tools:list tools:call:*", '["tools:list", "tools:call:*"]'),
    (["tools:list", "tools list"], "OTC_AUTH_SCOPELESS_GRANTS[1]"),
    ([7], "OTC_AUTH_SCOPELESS_GRANTS[0]"),
    ({"tools:list": True}, "must be a list"),
])
def test_unusable_grants_are_refused_at_start_up(value: Any, message: str) -> None:
    with pytest.raises(OTCAuthConfigError) as raised:
        grants_app(value)
    assert message in str(raised.value)


def test_one_scope_may_be_given_as_a_string() -> None:
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_SCOPELESS_GRANTS="tools:list"))
    assert OTCAuth(app).settings(app).scopeless_grants == frozenset({"tools:list"})
