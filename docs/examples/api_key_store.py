"""API keys in the app's own database (SQLAlchemy), read through a cached ``api_key_loader``.

The table holds each key's SHA-256 (``flask otcauth generate-key`` prints the key once and the
hash to store); flask-otcauth hashes a presented key and asks the loader for that hash only.
Answers are cached (``OTC_AUTH_API_KEY_CACHE_TTL``), so the database is not queried on every
request; a row disabled in the database stops working within that many seconds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Boolean, DateTime, Engine, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_otcauth import OTCAuth, current_identity, require_auth


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"

    hash: Mapped[str] = mapped_column(String(71), primary_key=True)  # "sha256:<64 hex>"
    holder: Mapped[str] = mapped_column(String(128), index=True)  # rotation: several rows
    scopes: Mapped[str] = mapped_column(String(1024), default="")  # space-separated
    tenant: Mapped[str | None] = mapped_column(String(128), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


auth = OTCAuth()


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; the column holds UTC, so say so."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


@auth.api_key_loader
def load_api_key(digest: str) -> dict[str, Any] | None:
    """The record of the key whose hash is ``digest``, or None. Exceptions answer 503."""
    engine: Engine = current_app.extensions["api_key_db"]
    with Session(engine) as session:
        row = session.get(ApiKey, digest)
        if row is None:
            return None
        return {
            "id": row.holder,
            "hash": row.hash,
            "scopes": row.scopes.split(),
            "tenant": row.tenant,
            "expires_at": _utc(row.expires_at),
            "not_before": _utc(row.not_before),
            "disabled": row.disabled,
        }


def create_app(database_url: str = "sqlite://") -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        OTC_AUTH_METHODS=["api_key"],
        OTC_AUTH_API_KEY_CACHE_TTL=60,  # a found key is looked up again after a minute
        OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL=5,  # an unknown key after 5 seconds
    )
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    app.extensions["api_key_db"] = engine
    auth.init_app(app)  # the loader is registered above, before init_app

    @app.get("/tools")
    @require_auth(scopes=["tools:list"])
    def list_tools() -> dict[str, Any]:
        return {"holder": current_identity.subject, "tenant": current_identity.tenant,
                "tools": []}

    return app
