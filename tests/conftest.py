"""Fixtures shared by every test module: app factories over real Flask apps, and Redis."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, g

from flask_otcauth import OTCAuth, current_identity, get_identity, require_auth

from .helpers import API_KEY, AUDIENCE, JWT_SECRET, RUN_NAMESPACE

# The pytest plugin (flask_otcauth.testing) is tested by running test files in a pytester.
pytest_plugins = ["pytester"]

# The Redis the tests use. It may be shared (with other runs, other people, other apps): the run
# writes every key under a namespace of its own and deletes only those, never FLUSHDB.
REDIS_URL = os.environ.get("OTCAUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
RUN_SETTINGS: dict[str, Any] = {"OTC_AUTH_STORAGE_NAMESPACE": RUN_NAMESPACE}
"""Settings every app of the run carries, so its Redis keys (nonces, and rate-limit counters
as limits' key_prefix) all start with ``RUN_NAMESPACE:``."""

AppFactory = Callable[..., Flask]


def base_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        **RUN_SETTINGS,
        "TESTING": True,
        "OTC_AUTH_METHODS": ["jwt", "api_key"],
        "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE],
        "OTC_AUTH_API_KEYS": [API_KEY],
        "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
    }
    config.update(overrides)
    return config


def identity_json() -> dict[str, Any]:
    if not current_identity:
        return {"identity": None}
    return {"method": current_identity.method, "subject": current_identity.subject,
            "client": current_identity.client}


def build_app(**overrides: Any) -> Flask:
    """A small tool-server-like app with one view per way of requiring authentication."""
    app = Flask(__name__)
    app.config.update(base_config(**overrides))
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return identity_json()

    @app.get("/optional")
    @require_auth(optional=True)
    def optional() -> dict[str, Any]:
        return identity_json()

    if "jwt" in app.config["OTC_AUTH_METHODS"]:  # naming a method the app lacks is refused

        @app.get("/jwt-only")
        @require_auth(methods=["jwt"])
        def jwt_only() -> dict[str, Any]:
            return identity_json()

    @app.get("/open")
    def open_view() -> dict[str, Any]:
        return {"g_identity": repr(g.get("otcauth_identity")), "identity": repr(get_identity())}

    return app


@pytest.fixture
def make_app() -> AppFactory:
    return build_app


@pytest.fixture
def app() -> Flask:
    """pytest-flask's app: JWT and API key enabled, limits off."""
    return build_app()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """``OTCAUTH_TEST_REDIS_URL``'s Redis, without this run's keys before and after (the
    others are left alone); skipped when redis-py is missing or no Redis answers, except under
    CI=true, where the test fails instead."""
    under_ci = os.environ.get("CI") == "true"
    try:
        import redis  # noqa: PLC0415 - optional: the redis extra
    except ImportError:
        reason = "redis-py is not installed"
        if under_ci:
            pytest.fail(f"{reason}; under CI=true a Redis test must run")
        pytest.skip(f"{reason}: pip install -e '.[redis]'")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"no Redis answers at {REDIS_URL} ({error.__class__.__name__})"
        if under_ci:
            pytest.fail(f"{reason}; under CI=true a Redis test must run")
        pytest.skip(f"{reason}; start one with: redis-server --port 6379")
    delete_run_keys(client)
    yield REDIS_URL
    delete_run_keys(client)
    client.close()


@pytest.fixture
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the commands every redis-py connection sends from now on, whichever way."""
    from redis.connection import Connection  # noqa: PLC0415 - the redis extra

    sent: Counter[str] = Counter()
    send = Connection.send_command

    def counting(self: Connection, *args: Any, **options: Any) -> Any:
        sent[str(args[0]).upper()] += 1
        return send(self, *args, **options)

    monkeypatch.setattr(Connection, "send_command", counting)
    return sent


def delete_run_keys(client: Any) -> int:
    """Delete the keys of this run's namespace (SCAN and DEL, so Redis is never blocked), and
    nothing else; returns how many."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{RUN_NAMESPACE}:*", count=500):
        batch.append(key)
        if len(batch) == 500:
            deleted += client.delete(*batch)
            batch.clear()
    if batch:
        deleted += client.delete(*batch)
    return deleted


ServerFactory = Callable[..., str]


@pytest.fixture
def gunicorn(tmp_path: Any) -> Iterator[ServerFactory]:
    """Starts gunicorn servers of ``tests.served_app`` (``gunicorn(settings, args=...)``).

    Each is a real multi-process server on a free port, stopped after the test; the base URL
    is returned once ``/health`` answers.
    """
    from .servers import start_gunicorn, stop  # noqa: PLC0415 - only e2e tests pay for it

    processes = []

    def start(settings: dict[str, object], *, args: tuple[str, ...] = ("-w", "2"),
              env: dict[str, str] | None = None, app: str = "tests.served_app:create_app()"
              ) -> str:
        log = tmp_path / f"gunicorn-{len(processes)}.log"
        process, base_url = start_gunicorn(app, {**RUN_SETTINGS, **settings}, log, args=args,
                                           env=env)
        processes.append(process)
        return base_url

    yield start
    for process in processes:
        stop(process)
