"""Opaque access tokens through token introspection (RFC 7662), against a local endpoint.

The endpoint is a stdlib HTTP server on 127.0.0.1 that counts the requests it answers, so the
cache (positive answers only, for at most min(cache_ttl, exp - now)) is proven by counting.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from typing import Any, Final

import pytest

from flask_otcauth.testing import LocalIssuer, make_token
from tests.helpers import RUN_NAMESPACE, assert_refused
from tests.oauth.conftest import RESOURCE, Clock, bearer, oauth_app
from tests.oauth.introspection_endpoint import (
    CLIENT_ID,
    CLIENT_SECRET,
    IntrospectionEndpoint,
    introspection,
)

OPAQUE: Final = "2YotnFZFEjr1zCsicMWpAA"  # RFC 6749 / RFC 7662 section 2.1's example token


def app_for(issuer: LocalIssuer, endpoint: IntrospectionEndpoint, **overrides: Any) -> Any:
    cache = overrides.pop("cache", {})
    return oauth_app(issuer, OTC_AUTH_OAUTH_INTROSPECTION=introspection(endpoint, **cache),
                     **overrides)


def test_rfc7662_section_2_2_response_is_accepted_with_its_identity(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint, clock: Clock) -> None:
    # RFC 7662 section 2.2's example answer, verbatim, for section 2.1's example token.
    endpoint.answers[OPAQUE] = {
        "active": True, "client_id": "l238j323ds-23ij4", "username": "jdoe",
        "scope": "read write dolphin", "sub": "Z5O3upPC88QrAjx00dis",
        "aud": "https://protected.example.net/resource", "iss": "https://server.example.com/",
        "exp": 1419356238, "iat": 1419350238, "extra_field": "and any other fields as required"}
    clock.now = 1419350238 + 60
    app = oauth_app(None, entry={"issuer": "https://server.example.com/", "jwks": issuer.jwks(),
                                 "audiences": ["https://protected.example.net/resource"]},
                    OTC_AUTH_OAUTH_INTROSPECTION=introspection(endpoint))
    response = app.test_client().get("/api/whoami", headers=bearer(OPAQUE))
    assert response.status_code == 200, response.json
    assert response.json == {"method": "oauth", "subject": "Z5O3upPC88QrAjx00dis",
                             "client": "l238j323ds-23ij4", "scopes": ["dolphin", "read", "write"],
                             "tenant": None, "issuer": "https://server.example.com/"}


def test_the_request_is_a_form_post_with_client_secret_basic(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint) -> None:
    # RFC 7662 section 2.1: token and token_type_hint as a form; RFC 6749 section 2.3.1.
    endpoint.active(OPAQUE, issuer)
    app_for(issuer, endpoint).test_client().get("/api/whoami", headers=bearer(OPAQUE))
    authorization, form, content_type = endpoint.requests[0]
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert authorization == f"Basic {expected}"
    assert form == {"token": [OPAQUE], "token_type_hint": ["access_token"]}
    assert content_type == "application/x-www-form-urlencoded"


def test_an_active_answer_is_cached(issuer: LocalIssuer,
                                    endpoint: IntrospectionEndpoint) -> None:
    endpoint.active(OPAQUE, issuer)
    client = app_for(issuer, endpoint).test_client()
    for _ in range(5):
        assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert endpoint.calls == 1


def test_the_cache_is_kept_at_most_cache_ttl(issuer: LocalIssuer,
                                             endpoint: IntrospectionEndpoint) -> None:
    endpoint.active(OPAQUE, issuer)
    client = app_for(issuer, endpoint, cache={"cache_ttl": 1}).test_client()
    assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert endpoint.calls == 1
    time.sleep(1.2)
    assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert endpoint.calls == 2


def test_cache_ttl_zero_asks_every_time(issuer: LocalIssuer,
                                        endpoint: IntrospectionEndpoint) -> None:
    endpoint.active(OPAQUE, issuer)
    client = app_for(issuer, endpoint, cache={"cache_ttl": 0}).test_client()
    for _ in range(3):
        assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert endpoint.calls == 3


def test_a_negative_answer_is_never_cached(issuer: LocalIssuer,
                                           endpoint: IntrospectionEndpoint) -> None:
    client = app_for(issuer, endpoint).test_client()
    for _ in range(3):
        assert_refused(client.get("/api/tools", headers=bearer(OPAQUE)), 401, "invalid_token",
                       hint="not active", presented=OPAQUE)
    assert endpoint.calls == 3
    endpoint.active(OPAQUE, issuer)  # now active: the next request asks and is accepted
    assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert endpoint.calls == 4


def _redis_ttl(redis_url: str, token: str) -> int:
    import redis  # noqa: PLC0415 - the redis_url fixture skipped the test without it

    client = redis.Redis.from_url(redis_url)
    digest = hashlib.sha256(token.encode()).hexdigest()
    names = list(client.scan_iter(f"{RUN_NAMESPACE}*oauth-introspection:{digest}"))
    assert len(names) == 1, names
    assert token.encode() not in names[0]
    return int(client.ttl(names[0]))


def test_the_cache_in_redis_is_shared_and_bounded_by_cache_ttl(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint, redis_url: str) -> None:
    endpoint.active(OPAQUE, issuer, ttl=3600)
    first = app_for(issuer, endpoint, OTC_AUTH_STORAGE_URI=redis_url)
    second = app_for(issuer, endpoint, OTC_AUTH_STORAGE_URI=redis_url)
    assert first.test_client().get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert second.test_client().get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert endpoint.calls == 1  # the second app (another worker) read the first's answer
    assert 55 <= _redis_ttl(redis_url, OPAQUE) <= 60


def test_the_cache_never_outlives_the_token(issuer: LocalIssuer,
                                            endpoint: IntrospectionEndpoint,
                                            redis_url: str) -> None:
    endpoint.active(OPAQUE, issuer, ttl=20)
    app = app_for(issuer, endpoint, OTC_AUTH_STORAGE_URI=redis_url)
    assert app.test_client().get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    assert 15 <= _redis_ttl(redis_url, OPAQUE) <= 20


@pytest.mark.parametrize(("fields", "hint"), [
    ({"aud": "https://tools.example.com/mcp2"}, "aud does not name"),
    ({"aud": None}, "aud does not name"),
    ({"iss": "https://elsewhere.example.com"}, "iss is not an issuer"),
    ({"exp": int(time.time()) - 10}, "exp"),
    ({"exp": None}, "exp"),
    ({"token_type": "refresh_token"}, "not a Bearer or DPoP access token"),
    ({"client_id": 7}, "client_id is not a string"),
    ({"scope": "tools:list bad\\scope"}, "scope"),
    ({"active": "true"}, "not active"),
], ids=["aud-other", "aud-absent", "iss-unknown", "exp-passed", "exp-absent", "token-type",
        "client-id-type", "scope-syntax", "active-not-boolean"])
def test_an_answer_that_fails_a_check_is_refused(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint, fields: dict[str, Any],
        hint: str) -> None:
    endpoint.active(OPAQUE, issuer)
    endpoint.answers[OPAQUE].update(fields)
    endpoint.answers[OPAQUE] = {k: v for k, v in endpoint.answers[OPAQUE].items()
                                if v is not None}
    client = app_for(issuer, endpoint).test_client()
    assert_refused(client.get("/api/tools", headers=bearer(OPAQUE)), 401, "invalid_token",
                   hint=hint, presented=OPAQUE)


def test_introspected_scopes_decide_the_403(issuer: LocalIssuer,
                                            endpoint: IntrospectionEndpoint) -> None:
    endpoint.active(OPAQUE, issuer, scope="tools:list")
    client = app_for(issuer, endpoint).test_client()
    assert_refused(client.post("/api/call", headers=bearer(OPAQUE)), 403, "insufficient_scope")


@pytest.mark.parametrize("status", [500, 503, 401])
def test_an_endpoint_that_fails_is_a_503_with_retry_after(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint, status: int) -> None:
    endpoint.status = status
    client = app_for(issuer, endpoint).test_client()
    assert_refused(client.get("/api/tools", headers=bearer(OPAQUE)), 503,
                   "temporarily_unavailable", hint="introspection endpoint did not answer",
                   retry_after=(1, 60), presented=OPAQUE)


def test_an_endpoint_that_is_down_is_a_503_never_a_200(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint) -> None:
    endpoint.active(OPAQUE, issuer)
    client = app_for(issuer, endpoint, cache={"cache_ttl": 0}).test_client()
    assert client.get("/api/tools", headers=bearer(OPAQUE)).status_code == 200
    endpoint.stop()
    assert_refused(client.get("/api/tools", headers=bearer(OPAQUE)), 503,
                   "temporarily_unavailable", retry_after=(1, 60), presented=OPAQUE)


def test_a_jwt_of_a_configured_issuer_is_verified_locally(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint) -> None:
    client = app_for(issuer, endpoint).test_client()
    token = issuer.make_token(audience=RESOURCE, scopes=["tools:list"])
    assert client.get("/api/tools", headers=bearer(token)).status_code == 200
    expired = issuer.make_token(audience=RESOURCE, now=time.time() - 1000)
    assert_refused(client.get("/api/tools", headers=bearer(expired)), 401, "invalid_token",
                   hint="expired")
    assert endpoint.calls == 0


def test_a_jwt_of_another_issuer_goes_to_introspection(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint) -> None:
    other = LocalIssuer()
    try:
        token = other.make_token(audience=RESOURCE, scopes=["tools:list"])
    finally:
        other.stop()
    endpoint.active(token, issuer)
    client = app_for(issuer, endpoint).test_client()
    assert client.get("/api/tools", headers=bearer(token)).status_code == 200
    assert endpoint.calls == 1


def test_otc_hs256_tokens_still_go_to_the_jwt_method(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint) -> None:
    app = app_for(issuer, endpoint, methods=("jwt", "oauth"))
    endpoint.active(OPAQUE, issuer)
    client = app.test_client()
    response = client.get("/api/whoami", headers=bearer(make_token(app)))
    assert response.json["method"] == "jwt"
    assert client.get("/api/whoami", headers=bearer(OPAQUE)).json["method"] == "oauth"
    assert endpoint.calls == 1


def test_no_secret_or_token_is_logged(issuer: LocalIssuer, endpoint: IntrospectionEndpoint,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = app_for(issuer, endpoint).test_client()
    endpoint.active(OPAQUE, issuer)
    client.get("/api/tools", headers=bearer(OPAQUE))
    client.get("/api/tools", headers=bearer("not-active-token"))
    endpoint.status = 500
    client.get("/api/tools", headers=bearer("another-token"))
    endpoint.stop()
    client.get("/api/tools", headers=bearer("a-third-token"))
    logged = caplog.text + repr([record.__dict__ for record in caplog.records])
    assert "introspection endpoint did not answer" in logged
    for secret in (CLIENT_SECRET, OPAQUE, "not-active-token", "another-token", "a-third-token",
                   base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()):
        assert secret not in logged
