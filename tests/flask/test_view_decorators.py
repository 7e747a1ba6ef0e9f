"""@require_auth: bare or called, module-level or on the extension, sync or async."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g
from flask.testing import FlaskClient

from flask_otcauth import OTCAuth, current_identity, get_identity, require_auth

from ..conftest import base_config
from ..helpers import OTHER_API_KEY, api_key, bearer, make_token


def test_bare_decorator_refuses_anonymous_callers(client: FlaskClient) -> None:
    assert client.get("/tools").status_code == 401


def test_called_decorator_with_optional_lets_anonymous_callers_in(client: FlaskClient) -> None:
    response = client.get("/optional")
    assert response.status_code == 200
    assert response.json == {"identity": None}


def test_optional_view_still_refuses_a_bad_credential(client: FlaskClient) -> None:
    assert client.get("/optional", headers=api_key(OTHER_API_KEY)).status_code == 401


def test_optional_view_sees_a_good_credential(client: FlaskClient) -> None:
    response = client.get("/optional", headers=api_key())
    assert response.json is not None
    assert response.json["method"] == "api_key"


def test_blueprint_decorated_before_the_app_exists() -> None:
    blueprint = Blueprint("tools", __name__)

    @blueprint.get("/bp/tools")
    @require_auth
    def listed() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    app = Flask(__name__)
    app.config.update(base_config())
    OTCAuth(app)
    app.register_blueprint(blueprint)
    client = app.test_client()
    assert client.get("/bp/tools").status_code == 401
    assert client.get("/bp/tools", headers=bearer(make_token(sub="a"))).json == {"subject": "a"}


def test_extension_method_decorates_like_the_function() -> None:
    auth = OTCAuth()
    app = Flask(__name__)
    app.config.update(base_config())
    auth.init_app(app)

    @app.get("/x")
    @auth.require_auth(methods=["jwt"])
    def view() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/x", headers=api_key()).status_code == 401
    assert client.get("/x", headers=bearer(make_token())).status_code == 200


def test_view_arguments_pass_through(app: Flask) -> None:
    @app.get("/tools/<name>/<int:version>")
    @require_auth
    def tool(name: str, version: int) -> dict[str, Any]:
        return {"name": name, "version": version}

    response = app.test_client().get("/tools/add/2", headers=api_key())
    assert response.json == {"name": "add", "version": 2}


def test_async_view_is_protected_and_awaited(app: Flask) -> None:
    @app.get("/async")
    @require_auth
    async def async_view() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    client = app.test_client()
    assert client.get("/async").status_code == 401
    assert client.get("/async", headers=bearer(make_token(sub="a"))).json == {"subject": "a"}


def test_options_preflight_is_let_through(client: FlaskClient) -> None:
    assert client.options("/tools").status_code == 200


def test_head_is_protected_like_get(client: FlaskClient) -> None:
    assert client.head("/tools").status_code == 401


def test_catch_all_error_handler_cannot_turn_401_into_500(app: Flask) -> None:
    @app.errorhandler(Exception)
    def crash(error: Exception) -> tuple[str, int]:
        return "server error", 500

    assert app.test_client().get("/tools").status_code == 401


def test_the_identity_is_the_same_object_for_the_whole_request(app: Flask) -> None:
    @app.get("/same")
    @require_auth
    def same() -> dict[str, Any]:
        return {"same": get_identity() is get_identity() is not None,
                "nothing_on_g": "otcauth_identity" not in g}

    assert app.test_client().get("/same", headers=api_key()).json == {
        "same": True, "nothing_on_g": True}


def test_identity_does_not_leak_into_the_next_request_under_one_app_context(
    client: FlaskClient,
) -> None:
    # pytest-flask keeps one app context, and so one g, across the client's requests.
    assert client.get("/tools", headers=api_key()).status_code == 200
    assert client.get("/open").json == {"g_identity": "None", "identity": "None"}


def test_identity_does_not_leak_when_an_app_context_was_pushed_before(app: Flask) -> None:
    with app.app_context():
        client = app.test_client()
        assert client.get("/tools", headers=api_key()).status_code == 200
        assert client.get("/open").json == {"g_identity": "None", "identity": "None"}
