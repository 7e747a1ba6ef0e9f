"""Timing: interleaved rounds through Flask's test client, and what the run was measured on.

Each round times every case once, in turn, so a burst of load from other work on the machine
hits all cases alike instead of one; a case's figure is its median round, and its ratio is the
median over rounds of its time over bare Flask's in the same round.
"""

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import statistics
import time
from dataclasses import dataclass, field

import redis
from flask.testing import FlaskClient

from .apps import REDIS_URL, Case

PACKAGES = ("flask", "werkzeug", "pyjwt", "flask-limiter", "limits", "redis", "hiredis",
            "flask-jwt-extended", "flask-httpauth", "gunicorn")


@dataclass
class Result:
    case: Case
    per_request: list[float] = field(default_factory=list)  # seconds, one figure per round

    @property
    def median(self) -> float:
        return statistics.median(self.per_request)


@dataclass
class Prepared:
    case: Case
    client: FlaskClient
    sent: int = 0  # requests so far: each round goes on where the last stopped


def available(case: Case) -> str | None:
    """Why ``case`` cannot run here, or ``None`` when it can."""
    if not case.needs_redis:
        return None
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"no Redis at {REDIS_URL} ({error.__class__.__name__})"
    return None


def prepare(case: Case, warmup: int) -> Prepared:
    """Build the app and prove it answers every warm-up request with the expected status."""
    client = case.build().test_client(use_cookies=False)
    for index in range(warmup):
        status = (client.get("/tool", headers=case.headers(index)) if case.body is None else
                  client.post(case.path, data=case.body, headers=case.headers(index))
                  ).status_code
        if status != case.status:
            raise AssertionError(f"{case.name}: request {index} got {status}, "
                                 f"expected {case.status}")
    return Prepared(case, client, sent=warmup)


def time_case(prepared: Prepared, requests: int) -> float:
    """Seconds per request over ``requests`` requests; every answer must have the right status."""
    client, headers, expected = prepared.client, prepared.case.headers, prepared.case.status
    first = prepared.sent
    prepared.sent += requests
    wrong = 0
    body, path = prepared.case.body, prepared.case.path
    gc.collect()
    start = time.perf_counter()
    for index in range(first, first + requests):
        response = (client.get("/tool", headers=headers(index)) if body is None else
                    client.post(path, data=body, headers=headers(index)))
        if response.status_code != expected:
            wrong += 1
    elapsed = time.perf_counter() - start
    if wrong:
        raise AssertionError(f"{prepared.case.name}: {wrong} of {requests} requests did not get "
                             f"{expected}")
    return elapsed / requests


def run(cases: list[Case], *, rounds: int, requests: int, warmup: int) -> list[Result]:
    prepared = [prepare(case, warmup) for case in cases]
    results = [Result(case) for case in cases]
    for _ in range(rounds):
        for item, result in zip(prepared, results, strict=True):
            result.per_request.append(time_case(item, requests))
    return results


def machine() -> dict[str, str]:
    """What a reader needs to compare two runs: hardware, software, and how busy the box was."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "cpu": f"{model}, {os.cpu_count()} cores",
        "system": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(versions),
    }


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
