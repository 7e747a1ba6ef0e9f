"""OTC_AUTH_OAUTH_JWKS_PREFETCH through HTTP: the keys fetched at init_app, refreshed in the
background before they expire (in a forked worker too), against the plugin's local issuer on
127.0.0.1 counting its JWK Set fetches. On the real clock: the refresh thread reads it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.state import app_state
from flask_otcauth.testing import LocalIssuer

from .conftest import RESOURCE, bearer, oauth_app

# A refresh at 80 % of 3 s: every 2.4 s, and never two within the 1 s cooldown.
FAST: dict[str, Any] = {"OTC_AUTH_OAUTH_JWKS_PREFETCH": True, "OTC_AUTH_OAUTH_JWKS_TTL": 3,
                        "OTC_AUTH_OAUTH_JWKS_COOLDOWN": 1}


@pytest.fixture
def prefetched() -> Iterator[Callable[..., Flask]]:
    """Builds oauth apps with prefetch on, and stops their refresh threads after the test, so
    none goes on fetching from a stopped issuer into another test's log."""
    apps: list[Flask] = []

    def build(issuer: LocalIssuer | None, **options: Any) -> Flask:
        app = oauth_app(issuer, **{**FAST, **options})
        apps.append(app)
        return app

    yield build
    for app in apps:
        refresher = app_state(app).gate.authenticator._schemes["oauth"].refresher  # type: ignore[attr-defined]
        refresher.stop()
        refresher.thread.join(timeout=5)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def status(app: Flask, token: str) -> int:
    return int(app.test_client().get("/api/whoami", headers=bearer(token)).status_code)


def test_without_prefetch_the_first_request_fetches_the_keys(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    assert issuer.fetches == 0

    assert status(app, issuer.make_token(audience=RESOURCE)) == 200
    assert issuer.fetches == 1


def test_prefetch_fetches_the_keys_at_init_app(issuer: LocalIssuer,
                                               prefetched: Callable[..., Flask]) -> None:
    app = prefetched(issuer, OTC_AUTH_OAUTH_JWKS_TTL=300)
    assert issuer.fetches == 1

    assert status(app, issuer.make_token(audience=RESOURCE)) == 200
    assert issuer.fetches == 1  # the request found the keys there


def test_prefetch_discovers_an_issuer_given_without_jwks_uri(
        issuer: LocalIssuer, prefetched: Callable[..., Flask]) -> None:
    """RFC 8414 section 3: discovery runs at init_app too, so the request waits for neither."""
    app = prefetched(None, entry={"issuer": issuer.issuer}, OTC_AUTH_OAUTH_JWKS_TTL=300)
    assert issuer.fetches == 1

    assert status(app, issuer.make_token(audience=RESOURCE)) == 200
    assert issuer.fetches == 1


def test_prefetch_refuses_to_start_naming_the_issuer_whose_keys_cannot_be_fetched(
        issuer: LocalIssuer) -> None:
    issuer.available = False

    with pytest.raises(OTCAuthConfigError) as refused:
        oauth_app(issuer, **FAST)

    message = str(refused.value)
    assert "OTC_AUTH_OAUTH_JWKS_PREFETCH" in message
    assert f"{issuer.issuer} (the server answered 503)" in message


def test_the_keys_are_refreshed_in_the_background_before_they_expire(
        issuer: LocalIssuer, prefetched: Callable[..., Flask]) -> None:
    prefetched(issuer)

    assert wait_for(lambda: issuer.fetches >= 3)  # 2.4 s apart, no request made


def test_a_rotation_reaches_requests_through_the_background_refresh(
        issuer: LocalIssuer, prefetched: Callable[..., Flask]) -> None:
    app = prefetched(issuer)
    new_kid = issuer.rotate("RSA")
    fetched = issuer.fetches
    assert wait_for(lambda: issuer.fetches > fetched)

    before = issuer.fetches
    assert status(app, issuer.make_token(audience=RESOURCE, kid=new_kid)) == 200
    assert issuer.fetches == before  # the new kid was known: the request fetched nothing


def test_a_worker_forked_after_init_app_refreshes_its_keys_in_the_background(
        issuer: LocalIssuer, prefetched: Callable[..., Flask]) -> None:
    """gunicorn --preload: init_app in the master, then fork. The child's request with the
    rotated key succeeds without fetching, because a refresh thread runs in the child."""
    app = prefetched(issuer)
    client = app_state(app).gate.authenticator._schemes["oauth"].clients[issuer.issuer]  # type: ignore[attr-defined]
    from_parent, to_child = os.pipe()
    from_child, to_parent = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: wait for the parent's token, then for its own refresh
        try:
            os.close(to_child)
            os.close(from_child)
            token = os.read(from_parent, 4096).decode()  # sent after the rotation
            fetched = client.fetches
            refreshed = wait_for(lambda: client.fetches > fetched, 10)
            before = client.fetches
            answer = {"refreshed": refreshed, "status": status(app, token),
                      "request_fetches": client.fetches - before}
            os.write(to_parent, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(from_parent)
    os.close(to_parent)
    issuer.rotate("RSA")  # after the fork: the child can only learn it by fetching
    os.write(to_child, issuer.make_token(audience=RESOURCE).encode())
    answer = json.loads(os.read(from_child, 4096))
    os.waitpid(pid, 0)

    assert answer == {"refreshed": True, "status": 200, "request_fetches": 0}
