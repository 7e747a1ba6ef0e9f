"""OTCAuth as a Flask extension: setup patterns, app-wide protection, imperative checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask

from flask_otcauth import AuthError, OTCAuth, current_identity, require_auth
from flask_otcauth.state import app_state

from ..conftest import base_config
from ..helpers import (
    API_KEY,
    JWT_SECRET,
    OLD_JWT_SECRET,
    OTHER_API_KEY,
    api_key,
    bearer,
    make_token,
)


def new_app(**overrides: object) -> Flask:
    app = Flask(__name__, static_folder="static")
    app.config.update(base_config(**overrides))
    return app


def test_init_app_registers_the_extension() -> None:
    app, auth = new_app(), OTCAuth()
    auth.init_app(app)
    assert app.extensions["otcauth"] is auth


def test_extension_keeps_no_app_reference() -> None:
    auth = OTCAuth(new_app())
    assert not hasattr(auth, "app")


def test_one_extension_serves_apps_with_different_settings() -> None:
    auth = OTCAuth()
    first, second = new_app(OTC_AUTH_METHODS=["api_key"]), new_app(OTC_AUTH_METHODS=["jwt"])
    for app in (first, second):
        auth.init_app(app)

        @app.get("/tools")
        @auth.require_auth
        def tools() -> str:
            return "ok"

    assert first.test_client().get("/tools", headers=api_key()).status_code == 200
    assert second.test_client().get("/tools", headers=api_key()).status_code == 401
    assert auth.settings(second).methods == ("jwt",)


def test_decorated_view_on_an_app_without_the_extension_fails_loudly() -> None:
    app = Flask(__name__)
    app.testing = True

    @app.get("/tools")
    @require_auth
    def tools() -> str:
        return "ok"

    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().get("/tools")


def test_protect_all_protects_undecorated_views() -> None:
    app = new_app(OTC_AUTH_PROTECT_ALL=True)
    OTCAuth(app)

    @app.get("/plain")
    def plain() -> dict[str, object]:
        return {"subject": current_identity.subject}

    client = app.test_client()
    assert client.get("/plain").status_code == 401
    assert client.get("/plain", headers=bearer(make_token(sub="a"))).json == {"subject": "a"}


def test_protect_all_refuses_unknown_urls_before_saying_404() -> None:
    app = new_app(OTC_AUTH_PROTECT_ALL=True)
    OTCAuth(app)
    client = app.test_client()
    assert client.get("/no-such-page").status_code == 401
    assert client.get("/no-such-page", headers=api_key()).status_code == 404


def test_exempt_view_stays_open_under_protect_all() -> None:
    app = new_app(OTC_AUTH_PROTECT_ALL=True)
    auth = OTCAuth(app)

    @app.get("/health")
    @auth.exempt
    def health() -> dict[str, str]:
        return {"status": "ok"}

    response = app.test_client().get("/health", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 200


def test_static_files_are_never_protected(tmp_path: Path) -> None:
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    app.config.update(base_config(OTC_AUTH_PROTECT_ALL=True))
    OTCAuth(app)
    (tmp_path / "logo.txt").write_text("logo")
    response = app.test_client().get("/static/logo.txt")
    assert response.status_code == 200
    response.close()


def test_view_requirement_wins_over_protect_all() -> None:
    app = new_app(OTC_AUTH_PROTECT_ALL=True)
    OTCAuth(app)

    @app.get("/optional")
    @require_auth(optional=True)
    def optional() -> str:
        return "anonymous welcome"

    assert app.test_client().get("/optional").status_code == 200


def test_protect_blueprint_protects_only_its_views() -> None:
    app, auth = new_app(), OTCAuth()
    auth.init_app(app)
    admin = Blueprint("admin", __name__)

    @admin.get("/admin/stats")
    def stats() -> str:
        return "stats"

    @admin.get("/admin/ping")
    @auth.exempt
    def ping() -> str:
        return "pong"

    auth.protect(admin)
    app.register_blueprint(admin)

    @app.get("/public")
    def public() -> str:
        return "public"

    client = app.test_client()
    assert client.get("/admin/stats").status_code == 401
    assert client.get("/admin/stats", headers=api_key()).status_code == 200
    assert client.get("/admin/ping").status_code == 200
    assert client.get("/public").status_code == 200


def test_verify_request_in_before_request_gives_the_decorators_response(app: Flask) -> None:
    auth: OTCAuth = app.extensions["otcauth"]
    app.before_request(lambda: auth.verify_request() and None)

    @app.get("/plain")
    def plain() -> str:
        return "ok"

    client = app.test_client()
    hooked = client.get("/plain", headers=api_key(OTHER_API_KEY))
    decorated = client.get("/tools", headers=api_key(OTHER_API_KEY))
    assert hooked.status_code == decorated.status_code == 401
    assert hooked.json == decorated.json
    assert hooked.headers.getlist("WWW-Authenticate") == decorated.headers.getlist(
        "WWW-Authenticate")


def test_verify_request_returns_the_identity(app: Flask) -> None:
    auth: OTCAuth = app.extensions["otcauth"]

    @app.get("/imperative")
    def imperative() -> dict[str, object]:
        identity = auth.verify_request(methods=["api_key"])
        assert identity is not None
        return {"method": identity.method}

    assert app.test_client().get("/imperative", headers=api_key()).json == {"method": "api_key"}


def test_verify_request_raises_auth_error(app: Flask) -> None:
    auth: OTCAuth = app.extensions["otcauth"]
    with app.test_request_context("/", headers=api_key(OTHER_API_KEY)), pytest.raises(
        AuthError
    ) as raised:
        auth.verify_request()
    assert raised.value.code == 401
    assert raised.value.get_response().status_code == 401


def test_a_request_is_verified_once_however_many_checks_ask(app: Flask) -> None:
    auth: OTCAuth = app.extensions["otcauth"]
    calls: list[object] = []
    app.before_request(lambda: calls.append(auth.verify_request()) and None)
    scheme = app_state(app).gate.authenticator._schemes["api_key"]
    original = scheme.verify

    def counting_verify(credential: str, now: float) -> object:
        calls.append("verify")
        return original(credential, now)

    scheme.verify = counting_verify  # type: ignore[method-assign]
    assert app.test_client().get("/tools", headers=api_key()).status_code == 200
    assert calls.count("verify") == 1


def test_settings_are_read_once_at_init(app: Flask) -> None:
    auth: OTCAuth = app.extensions["otcauth"]
    app.config["OTC_AUTH_API_KEYS"] = [API_KEY + "-changed-later"]
    assert app.test_client().get("/tools", headers=api_key()).status_code == 200
    assert auth.settings(app).of("jwt").secrets == (JWT_SECRET.encode(),)


def test_jwt_secret_rotation_list_signs_with_the_first(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(OTC_AUTH_JWT_SECRET=[JWT_SECRET, OLD_JWT_SECRET])
    auth: OTCAuth = app.extensions["otcauth"]
    assert auth.settings(app).of("jwt").secrets[0] == JWT_SECRET.encode()


def test_init_app_twice_installs_the_hook_once() -> None:
    app, auth = new_app(), OTCAuth()
    auth.init_app(app)
    auth.init_app(app)
    hooks = app.before_request_funcs[None]
    assert len(hooks) == 1
    assert hooks[0].otcauth_state is app_state(app)  # type: ignore[attr-defined]


def test_no_hook_is_left_after_the_first_request(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/tools", headers=api_key()).status_code == 200
    assert app.before_request_funcs.get(None, []) == []
    assert client.get("/tools", headers=api_key()).status_code == 200


def test_the_app_s_own_hooks_survive_the_first_request_check(app: Flask) -> None:
    seen: list[str] = []
    app.before_request(lambda: seen.append("own") and None)
    client = app.test_client()
    client.get("/tools", headers=api_key())
    client.get("/tools", headers=api_key())
    assert seen == ["own", "own"]
