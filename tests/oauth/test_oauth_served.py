"""The oauth method end to end: gunicorn workers on 127.0.0.1 and a local issuer's JWK Set."""

from __future__ import annotations

import httpx
import pytest

from flask_otcauth.testing import LocalIssuer

from ..conftest import ServerFactory

RESOURCE = "https://tools.example.com"
WORKERS = 2


@pytest.mark.e2e
def test_each_worker_fetches_the_keys_once_and_then_verifies_alone(
        gunicorn: ServerFactory, issuer: LocalIssuer) -> None:
    base_url = gunicorn({
        "OTC_AUTH_METHODS": ["oauth"], "OTC_AUTH_OAUTH_RESOURCE": RESOURCE,
        "OTC_AUTH_OAUTH_ISSUERS": [issuer.config()], "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None, "OTC_AUTH_REQUIRE_HTTPS": False,
    }, args=("-w", str(WORKERS)))
    token = issuer.make_token(audience=RESOURCE, sub="agent")

    with httpx.Client(base_url=base_url) as client:
        answers = [client.get("/tools/echo", headers={"Authorization": f"Bearer {token}"})
                   for _ in range(20)]
        metadata = client.get("/.well-known/oauth-protected-resource").json()
        refused = client.get("/tools/echo")

    assert [answer.status_code for answer in answers] == [200] * 20
    assert {answer.json()["method"] for answer in answers} == {"oauth"}
    assert 1 <= issuer.fetches <= WORKERS  # each worker process fetches on its own
    assert metadata["resource"] == RESOURCE
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer resource_metadata="https://tools.example.com/.well-known/'
        'oauth-protected-resource"')
