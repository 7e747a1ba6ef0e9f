"""docs/examples/api_key_store.py, the SQLAlchemy key table of docs/api-keys.md, against SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from api_key_store import ApiKey, create_app
from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from flask_otcauth import generate_key, hash_key

KEY = generate_key("test")
OLD_KEY = generate_key("test")


@pytest.fixture
def app() -> Flask:
    return create_app("sqlite://")


@pytest.fixture
def queries(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app runs from here on."""
    statements: list[str] = []
    engine: Engine = app.extensions["api_key_db"]

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)


def store(app: Flask, key: str = KEY, **columns: Any) -> None:
    row = {"holder": "ci-bot", "scopes": "tools:list", **columns}
    with Session(app.extensions["api_key_db"]) as session:
        session.add(ApiKey(hash=hash_key(key), **row))
        session.commit()


def get(app: Flask, key: str = KEY) -> Any:
    # Over HTTPS, as in production: the app leaves OTC_AUTH_REQUIRE_HTTPS at its default (on).
    return app.test_client().get("/tools", headers={"OTC-API-Key": key},
                                 base_url="https://localhost")


def test_a_stored_key_authenticates_with_its_row(app: Flask) -> None:
    store(app, tenant="acme")

    response = get(app)

    assert response.status_code == 200
    assert response.json == {"holder": "ci-bot", "tenant": "acme", "tools": []}


def test_the_database_holds_only_the_hash(app: Flask) -> None:
    store(app)

    with Session(app.extensions["api_key_db"]) as session:
        row = session.get(ApiKey, hash_key(KEY))
        assert row is not None
        assert KEY not in repr(vars(row))


def test_lookups_are_cached(app: Flask, queries: list[str]) -> None:
    store(app)
    queries.clear()

    for _ in range(5):
        assert get(app).status_code == 200
    for _ in range(5):
        assert get(app, OLD_KEY).status_code == 401

    assert len(queries) == 2  # one per distinct key, the unknown one included


def test_a_disabled_row_is_refused(app: Flask) -> None:
    store(app, disabled=True)

    assert get(app).status_code == 401


def test_an_expired_row_is_refused_and_its_successor_works(app: Flask) -> None:
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    store(app, OLD_KEY, expires_at=past)
    store(app, KEY)

    assert get(app, OLD_KEY).status_code == 401
    assert get(app, KEY).json["holder"] == "ci-bot"


def test_a_row_without_the_scope_is_403(app: Flask) -> None:
    store(app, scopes="tools:call:*")

    assert get(app).status_code == 403
