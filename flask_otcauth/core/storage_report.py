"""The storage part of ``flask otcauth check``: is each Redis there, how fast, and what it does
when it is full, restarted, or gone; Flask-free.

Settings alone cannot tell that a URI names a Redis that does not answer, evicts nonces, or
restarts empty; so the check connects, as the app would (with a longer timeout, to measure
rather than give up), and says what each of those means for signed requests and limits.
"""

from __future__ import annotations

from typing import Final

from .methods.base import Report
from .redis_clients import Probe, is_redis, probe
from .settings import REFUSE, Settings
from .storage import masked_uri

CHECK_TIMEOUT_SECONDS: Final = 1.0


def describe_storage(settings: Settings, report: Report) -> None:
    """A line per Redis (latency, memory policy, persistence), warnings for what is unsafe, and
    what the rate limits allow while their storage is down."""
    uris = dict.fromkeys(uri for uri in (settings.storage_uri, settings.ratelimit_storage_uri)
                         if uri is not None and is_redis(uri))
    for uri in uris:
        _describe_one(uri, settings, report)
    _describe_outage(settings, report)


def _describe_one(uri: str, settings: Settings, report: Report) -> None:
    shown = masked_uri(uri)
    timeout = max(settings.storage_timeout, CHECK_TIMEOUT_SECONDS)
    found = probe(uri, timeout)
    if found.latency_ms is None:
        report.warnings.append(
            f"storage {shown} did not answer within {timeout:g} s ({found.error}): while it "
            "does not, signed requests get 503 temporarily_unavailable and the rate limits "
            + ("refuse with 503." if settings.ratelimit_fallback == REFUSE
               else "count in each worker process."))
        return
    budget_ms = settings.storage_timeout * 1000
    report.lines.append(f"storage {shown}: answers in {found.latency_ms:.2f} ms (Redis "
                        f"{found.version}, OTC_AUTH_STORAGE_TIMEOUT {budget_ms:g} ms), "
                        + _memory(found))
    if found.latency_ms > budget_ms / 4:
        report.warnings.append(
            f"storage {shown} answers in {found.latency_ms:.0f} ms, close to "
            f"OTC_AUTH_STORAGE_TIMEOUT ({budget_ms:g} ms): requests will time out; move it "
            "closer or raise the timeout.")
    report.lines.extend(f"  {note}" for note in found.notes)
    if found.maxmemory and found.policy and found.policy.startswith("allkeys-"):
        report.warnings.append(
            f"storage {shown} has maxmemory-policy {found.policy}: when full it evicts any "
            "key, the hmac nonce set included (every signature created before the eviction "
            "is then refused with 503 for a moment) and rate-limit counters (their limits "
            "start over); use noeviction, or volatile-* for the nonces alone.")
    elif found.maxmemory and found.policy and found.policy.startswith("volatile-"):
        report.lines.append(
            f"  {found.policy} evicts rate-limit counters when full (their limits start over); "
            "the nonce set has no expiry and is never evicted")
    if found.persistence == "none":
        report.lines.append(
            "  no persistence: a restart empties it; signed requests created before the "
            "restart are then refused (503) for OTC_AUTH_HMAC_LEEWAY seconds, and limits "
            "start over")


def _memory(found: Probe) -> str:
    if found.policy is None:
        return "eviction policy unknown (it must not be allkeys-*)"
    size = f"maxmemory {found.maxmemory} bytes" if found.maxmemory else "no maxmemory"
    return f"{size}, maxmemory-policy {found.policy}, persistence {found.persistence}"


def _describe_outage(settings: Settings, report: Report) -> None:
    """What the limits allow while their shared storage is down."""
    uri = settings.ratelimit_storage_uri
    limits = settings.ratelimit + settings.failure_ratelimit
    if uri is None or uri.startswith("memory://") or not limits:
        return
    if settings.ratelimit_fallback == REFUSE:
        report.lines.append("rate limits while their storage does not answer: 503 "
                            "temporarily_unavailable (OTC_AUTH_RATELIMIT_FALLBACK = refuse)")
        return
    workers = report.workers
    allowed = " ; ".join(f"{item} x {workers} = {item.amount * workers}" for item in limits)
    report.lines.append(
        f"rate limits while their storage does not answer: each of the {workers} worker(s) "
        f"counts alone, so up to {allowed} (OTC_AUTH_RATELIMIT_FALLBACK = \"refuse\" answers "
        "503 instead)")
