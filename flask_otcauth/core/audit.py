"""The audit trail: a signal and a structured log record for every authentication decision.

Blinker signals in Flask's style (``auth_succeeded.connect(receiver, app)``) let an app feed its
own metrics or SIEM; records on the ``flask_otcauth`` logger carry the same facts in
``record.otcauth`` for a JSON formatter. Neither ever holds a key, a token or a secret: a refused
credential appears only as its fingerprint, 8 hex digits of its SHA-256. Flask-free: the Flask
layer hands in the app and the request facts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

from blinker import Namespace

from .identity import Identity
from .refusals import AuthFailure

logger = logging.getLogger("flask_otcauth")
_signals = Namespace()

auth_succeeded: Final = _signals.signal("otcauth-auth-succeeded")
"""Sent with ``identity`` and ``event`` (an :class:`AuditEvent`) when a request authenticates."""
auth_failed: Final = _signals.signal("otcauth-auth-failed")
"""Sent with ``failure``, ``reason`` (its code) and ``event`` when a request is refused."""
rate_limited: Final = _signals.signal("otcauth-rate-limited")
"""Sent with ``failure``, ``reason`` and ``event`` when a request gets 429."""
keys_stale: Final = _signals.signal("otcauth-keys-stale")
"""Sent (sender ``None``) with ``issuer``, ``reason``, ``age`` (seconds since the last good
fetch, ``None`` if none) and ``serving`` when fetching an ``oauth`` issuer's keys fails."""

storage_unavailable: Final = _signals.signal("otcauth-storage-unavailable")
"""Sent with ``storage`` (its address, never a password) and ``error`` (the exception's class
name) when shared state (Redis) stops answering: its circuit opens, requests stop waiting."""
storage_recovered: Final = _signals.signal("otcauth-storage-recovered")
"""Sent with ``storage`` and ``outage`` (seconds since it stopped answering) when it answers
again: its circuit closes."""

cross_tenant_access: Final = _signals.signal("otcauth-cross-tenant-access")
"""Sent with ``identity``, ``tenant`` (the tenant reached) and ``event`` when an operator
credential (``OTC_AUTH_CROSS_TENANT_CALLERS``) reaches a tenant it is not bound to."""

SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
RATE_LIMITED: Final = "rate_limited"


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the audit may say about a request: no header, no query string, no body."""

    http_method: str
    path: str
    client_address: str


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One decision. ``reason`` is the refusal's stable error code; ``fingerprint`` names a
    refused credential; ``subject`` and ``client`` are the verified identity's.

    Set only where they apply: ``caller``, the rate-limit key of a credential that verified and
    was refused all the same (an expired token, say: charged to that caller, not counted as a
    failed attempt); ``skew``, for a refusal by time, the seconds between the deciding claim
    and the server's clock (``iat - now``, ``nbf - now``, ``exp - now``; positive: ahead);
    ``required_scopes`` and ``scope_source`` for a 403 ``insufficient_scope``: what the view
    asked for, and the setting or record the caller's scopes come from, so the operator knows
    what to change; ``revocation`` for a 401 ``credential_revoked``: which entry matched (a
    ``jti``, a cut-off, a disabled key), never the token.
    """

    outcome: str
    status: int | None  # of a refusal; a success is decided before the view sets its own
    reason: str | None
    method: str | None
    http_method: str
    path: str
    client_address: str
    subject: str | None
    client: str | None
    fingerprint: str | None
    caller: str | None = None
    skew: float | None = None
    required_scopes: tuple[str, ...] | None = None
    scope_source: str | None = None
    revocation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def refusals_audited() -> bool:
    """Whether a refusal would be seen (a receiver, or the log at INFO); else nothing is built."""
    return bool(auth_failed.receivers or rate_limited.receivers) or logger.isEnabledFor(
        logging.INFO)


def record_success(sender: Any, identity: Identity, request: Callable[[], RequestFacts]) -> None:
    """``request`` is called only when someone listens: the hot path builds nothing."""
    if not (auth_succeeded.receivers or logger.isEnabledFor(logging.INFO)):
        return
    facts = request()
    event = AuditEvent(SUCCEEDED, None, None, identity.method, facts.http_method, facts.path,
                       facts.client_address, identity.subject, identity.client, None)
    _log(logging.INFO, event)
    if auth_succeeded.receivers:
        auth_succeeded.send(sender, identity=identity, event=event)


def _signal_and_level(failure: AuthFailure) -> tuple[Any, int]:
    """A 429 is ``rate_limited``, any other refusal ``auth_failed``; the level is its row's in
    the refusal table (429s and 503s at WARNING, the others at INFO)."""
    return (rate_limited if failure.status == 429 else auth_failed), failure.log_level


def refusal_audited(failure: AuthFailure) -> bool:
    """Whether this refusal would be seen: its signal has a receiver or its level is logged."""
    signal, level = _signal_and_level(failure)
    return bool(signal.receivers) or logger.isEnabledFor(level)


def record_refusal(
    sender: Any, failure: AuthFailure, request: Callable[[], RequestFacts],
    identity: Identity | None,
) -> None:
    """A refusal (4xx, or 503 when shared state is down); ``identity`` is set when a verified
    caller was refused after all (out of budget, lacking a scope)."""
    signal, level = _signal_and_level(failure)
    if not (signal.receivers or logger.isEnabledFor(level)):
        return
    limited = signal is rate_limited
    facts = request()
    scoped = failure.required_scopes and identity is not None
    event = AuditEvent(
        RATE_LIMITED if limited else FAILED, failure.status, failure.code,
        identity.method if identity is not None else failure.method, facts.http_method,
        facts.path, facts.client_address, identity.subject if identity is not None else None,
        identity.client if identity is not None else None, failure.fingerprint,
        failure.caller if failure.verified else None,
        None if failure.skew is None else round(failure.skew, 3),
        failure.required_scopes if scoped else None,
        identity.scope_source if scoped and identity is not None else None,
        failure.revocation)
    _log(level, event)
    if signal.receivers:
        signal.send(sender, failure=failure, reason=failure.code, event=event)


def _log(level: int, event: AuditEvent) -> None:
    if not logger.isEnabledFor(level):
        return
    fields = " ".join(f"{name}={_printable(value)}" for name, value in (
        ("status", event.status), ("reason", event.reason), ("method", event.method),
        ("request", f"{event.http_method} {event.path}"), ("client_address", event.client_address),
        ("subject", event.subject), ("client", event.client), ("fingerprint", event.fingerprint),
        ("caller", event.caller),
        ("skew", None if event.skew is None else f"{event.skew:+.1f}s"),
        ("required_scopes", None if event.required_scopes is None
         else " ".join(event.required_scopes)),
        ("scopes_from", event.scope_source), ("revocation", event.revocation),
    ) if value is not None)
    logger.log(level, "authentication %s: %s", event.outcome, fields,
               extra={"otcauth": event.as_dict()})


def _printable(value: object) -> str:
    """Client-chosen text (a path, a token's sub) cannot forge a log line: escape controls."""
    text = str(value)
    return text if text.isprintable() else repr(text)[1:-1]


def record_cross_tenant(sender: Any, identity: Identity, tenant: str,
                        request: Callable[[], RequestFacts]) -> None:
    """Every crossing of an operator credential into a tenant, one WARNING and one signal: a
    credential that can read every tenant's data is the one whose every use must be seen."""
    facts = request()
    event = AuditEvent("cross_tenant", None, "cross_tenant", identity.method,
                       facts.http_method, facts.path, facts.client_address, identity.subject,
                       identity.client, None)
    logger.warning("cross-tenant access: tenant=%s method=%s subject=%s client=%s request=%s",
                   _printable(tenant), identity.method, _printable(identity.subject),
                   _printable(identity.client),
                   _printable(f"{facts.http_method} {facts.path}"),
                   extra={"otcauth": {**event.as_dict(), "tenant": tenant}})
    if cross_tenant_access.receivers:
        cross_tenant_access.send(sender, identity=identity, tenant=tenant, event=event)


def record_storage_unavailable(sender: Any, storage: str, error: str, probe_every: float
                               ) -> None:
    """One WARNING and one signal per outage (the circuit calls this once, as it opens)."""
    logger.warning("shared storage %s is unavailable (%s): requests no longer wait for it; "
                   "probing it every %g s", storage, error, probe_every,
                   extra={"otcauth": {"outcome": "storage_unavailable", "storage": storage,
                                      "error": error}})
    if storage_unavailable.receivers:
        storage_unavailable.send(sender, storage=storage, error=error)


def record_storage_recovered(sender: Any, storage: str, outage: float) -> None:
    """One WARNING and one signal when the storage answers again (the circuit closes)."""
    logger.warning("shared storage %s answers again, after %.1f s", storage, outage,
                   extra={"otcauth": {"outcome": "storage_recovered", "storage": storage,
                                      "outage": round(outage, 3)}})
    if storage_recovered.receivers:
        storage_recovered.send(sender, storage=storage, outage=outage)
