"""The operator's revocation API on the extension (``auth.revoke_token(...)`` and the rest);
the same entries the ``flask otcauth revoke`` commands write.

Each call writes to, or reads from, the app's shared storage (``OTC_AUTH_STORAGE_URI``), so a
revocation made in one process (a shell, a CLI run, an admin view) holds on every worker that
shares it from their next request. They raise ``RuntimeError`` while ``OTC_AUTH_REVOCATION`` is
off: entries nobody checks would only look like a revocation. The storage's own
:class:`~flask_otcauth.core.storage.StorageUnavailable` reaches the caller: a revocation that
was not written must not look as if it were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.revocation import Revocations
from .state import app_state

if TYPE_CHECKING:
    from flask import Flask

REVOCATION_OFF = ("OTC_AUTH_REVOCATION is off: turn it on (with a shared OTC_AUTH_STORAGE_URI "
                  "for more than one worker) to revoke credentials.")


def revocations_of(app: Flask | None = None) -> Revocations:
    """The revocation entries of ``app`` (default: the current app), or ``RuntimeError``."""
    revocations = app_state(app).gate.revocations
    if revocations is None:
        raise RuntimeError(REVOCATION_OFF)
    return revocations


class RevocationAPI:
    """Mixed into :class:`~flask_otcauth.OTCAuth`; every method takes ``app`` (default: the
    current app)."""

    def revoke_token(self, jti: str, *, issuer: str = "", expires_at: float | None = None,
                     app: Flask | None = None) -> None:
        """Refuse the token with this ``jti`` from ``issuer`` (its ``iss``; ``""`` for the
        OTC tokens of this server, which name none), whatever its signature's bytes, until
        ``expires_at`` (its ``exp``; unknown: the longest token lifetime from now) plus the
        leeway, after which the entry is forgotten."""
        revocations_of(app).revoke_token(jti, issuer=issuer, expires_at=expires_at)

    def unrevoke_token(self, jti: str, *, issuer: str = "", app: Flask | None = None) -> None:
        revocations_of(app).unrevoke_token(jti, issuer=issuer)

    def is_token_revoked(self, jti: str, *, issuer: str = "", app: Flask | None = None
                         ) -> bool:
        return revocations_of(app).is_token_revoked(jti, issuer=issuer)

    def revoke_before(self, scope: str, value: str, before: float | None = None, *,
                      app: Flask | None = None) -> float:
        """Refuse every token whose ``scope`` (``"subject"``, ``"client"``, ``"tenant"`` or
        ``"issuer"``) is ``value`` and that was issued before ``before`` (a Unix time;
        default: now), the time returned; tokens minted after it are accepted."""
        return revocations_of(app).revoke_before(scope, value, before)

    def revoked_before(self, scope: str, value: str, *, app: Flask | None = None
                       ) -> float | None:
        """The cut-off in force for ``scope`` ``value``, or ``None``."""
        return revocations_of(app).cut_off(scope, value)

    def unrevoke_before(self, scope: str, value: str, *, app: Flask | None = None) -> None:
        revocations_of(app).remove_cut_off(scope, value)

    def revoke_key(self, method: str, key_id: str, *, app: Flask | None = None) -> None:
        """Disable an API key record (``method="api_key"``, its ``id``) or an hmac client
        (``method="hmac"``, its client id) on every worker at once, whatever the key loader's
        cache holds, until ``unrevoke_key``."""
        revocations_of(app).revoke_key(method, key_id)

    def unrevoke_key(self, method: str, key_id: str, *, app: Flask | None = None) -> None:
        revocations_of(app).unrevoke_key(method, key_id)

    def is_key_revoked(self, method: str, key_id: str, *, app: Flask | None = None) -> bool:
        return revocations_of(app).is_key_revoked(method, key_id)
