"""The oauth method against a real authorization server: npm oidc-provider on 127.0.0.1.

Tokens come from its token endpoint (client_credentials with an RFC 8707 resource indicator),
its keys from the ``jwks_uri`` its discovery document names, opaque tokens' answers from its
introspection endpoint: nothing here is minted or served by us. The views are the Flask test
client's; the clock is controlled, so cooldowns and staleness are crossed without waiting.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any, Final

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ..helpers import assert_refused
from ..oidc_provider import OPAQUE_CLIENT, TOKEN_TTL, OidcProvider
from .conftest import OTHER_RESOURCE, RESOURCE, Clock, bearer, oauth_app, start_oidc_provider

pytestmark = pytest.mark.e2e
TTL, COOLDOWN, MAX_STALE = 300, 30, 600
SETTINGS: Final[dict[str, Any]] = {"OTC_AUTH_OAUTH_JWKS_TTL": TTL,
                                   "OTC_AUTH_OAUTH_JWKS_COOLDOWN": COOLDOWN,
                                   "OTC_AUTH_OAUTH_JWKS_MAX_STALE": MAX_STALE}


def provider_app(provider: OidcProvider, **overrides: Any) -> Any:
    return oauth_app(None, entry=provider.issuer_entry(), **{**SETTINGS, **overrides})


def whoami(app: Any, token: str) -> Any:
    return app.test_client().get("/api/whoami", headers=bearer(token))


def forged_token(provider: OidcProvider, kid: str) -> str:
    """Claims the provider would issue, signed by a key it never published, under ``kid``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": RESOURCE, "sub": "mallory", "iat": now,
              "exp": now + 300, "client_id": "agent-platform"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def test_its_jwt_access_token_for_our_resource_is_accepted(oidc_provider: OidcProvider) -> None:
    """RFC 9068 section 4 and RFC 8707 section 2: its token for our resource, its keys found
    from the issuer alone (RFC 8414 section 3: its metadata names the jwks_uri)."""
    token = oidc_provider.token(RESOURCE)
    response = whoami(provider_app(oidc_provider), token)
    assert response.status_code == 200, response.json
    assert response.json == {"method": "oauth", "subject": "agent-platform",
                             "client": "agent-platform", "issuer": oidc_provider.issuer,
                             "scopes": ["tools:call:Math.Add", "tools:list"], "tenant": None}


def test_its_token_for_another_resource_is_refused(oidc_provider: OidcProvider) -> None:
    """RFC 8707 section 2 / RFC 9068 section 4: a token whose aud names another resource
    server is refused with invalid_token (RFC 6750 section 3.1)."""
    token = oidc_provider.token(OTHER_RESOURCE)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_RESOURCE
    assert_refused(whoami(provider_app(oidc_provider), token), 401, "invalid_token",
                   hint="aud does not name this resource server")


def test_its_scopes_decide_a_view_that_needs_more(oidc_provider: OidcProvider) -> None:
    """RFC 6750 section 3.1: a token granted tools:list alone gets 403 insufficient_scope on a
    view that also needs tools:call:Math.Add."""
    token = oidc_provider.token(RESOURCE, scope="tools:list")
    client = provider_app(oidc_provider).test_client()
    assert client.get("/api/tools", headers=bearer(token)).status_code == 200
    assert_refused(client.post("/api/call", headers=bearer(token)), 403, "insufficient_scope")


def test_a_rotated_key_is_fetched_once_and_random_kids_fetch_nothing(
        oidc_provider: OidcProvider, clock: Clock) -> None:
    """RFC 7517 section 4.5 and OIDC Core 1.0 section 10.1.1: a new kid refetches the JWK Set
    (once, past the cooldown); a flood of unknown kids then causes no fetch within it."""
    app = provider_app(oidc_provider)
    before = oidc_provider.jwks_hits()
    token = oidc_provider.token(RESOURCE)
    clock.now = time.time()  # not before the token's iat
    assert whoami(app, token).status_code == 200
    assert oidc_provider.jwks_hits() == before + 1

    clock.now += COOLDOWN + 1
    new_kid = oidc_provider.rotate()
    rotated = oidc_provider.token(RESOURCE)
    assert jwt.get_unverified_header(rotated)["kid"] == new_kid
    assert whoami(app, rotated).status_code == 200
    assert oidc_provider.jwks_hits() == before + 2

    for _ in range(20):
        forged = forged_token(oidc_provider, secrets.token_urlsafe(12))
        assert_refused(whoami(app, forged), 401, "invalid_token", hint="kid names no key")
    assert oidc_provider.jwks_hits() == before + 2


def test_cached_keys_outlive_a_stopped_provider_until_the_maximum_staleness(
        tmp_path_factory: pytest.TempPathFactory, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    """RFC 7517 section 5 gives a set no lifetime of its own: an outage of the provider is
    bridged with the last good keys for OTC_AUTH_OAUTH_JWKS_MAX_STALE, then refused (fail
    closed)."""
    provider = start_oidc_provider(tmp_path_factory)
    try:
        app = provider_app(provider)
        first, second, third = (provider.token(RESOURCE) for _ in range(3))
        clock.now = time.time()  # not before the tokens' iat
        accepted = whoami(app, first)
        assert accepted.status_code == 200, accepted.json
    finally:
        provider.stop()
    assert MAX_STALE + TTL < TOKEN_TTL  # every refusal below is the keys', not exp's

    clock.now += TTL + 1
    with caplog.at_level(logging.WARNING, logger="flask_otcauth"):
        assert whoami(app, second).status_code == 200
    assert "serving the keys fetched" in caplog.text

    clock.now += MAX_STALE - TTL
    assert_refused(whoami(app, third), 401, "invalid_token", hint="cannot be fetched")
    assert_refused(whoami(app, first), 401, "invalid_token")


def test_its_opaque_token_is_accepted_through_its_introspection_endpoint(
        oidc_provider: OidcProvider) -> None:
    """RFC 7662 section 2.2: active, aud naming us (RFC 8707), client_id and scope read."""
    token = oidc_provider.token(RESOURCE, client=OPAQUE_CLIENT)
    assert token.count(".") == 0  # opaque: no JWT to check locally
    app = provider_app(oidc_provider, OTC_AUTH_OAUTH_INTROSPECTION=oidc_provider.introspection())
    response = whoami(app, token)
    assert response.status_code == 200, response.json
    assert response.json["client"] == OPAQUE_CLIENT.client_id
    assert response.json["issuer"] == oidc_provider.issuer
    assert response.json["scopes"] == ["tools:call:Math.Add", "tools:list"]


def test_its_revoked_opaque_token_is_refused(oidc_provider: OidcProvider) -> None:
    """RFC 7009 section 2 then RFC 7662 section 2.2: once revoked, the answer is
    {"active": false}; with cache_ttl 0 the next request asks again and is refused."""
    token = oidc_provider.token(RESOURCE, client=OPAQUE_CLIENT)
    app = provider_app(oidc_provider,
                       OTC_AUTH_OAUTH_INTROSPECTION=oidc_provider.introspection(cache_ttl=0))
    assert whoami(app, token).status_code == 200
    oidc_provider.revoke(token)
    assert_refused(whoami(app, token), 401, "invalid_token", hint="not active")


def test_an_unknown_opaque_token_is_refused(oidc_provider: OidcProvider) -> None:
    """RFC 7662 section 2.2: a token the server never issued is {"active": false}."""
    app = provider_app(oidc_provider, OTC_AUTH_OAUTH_INTROSPECTION=oidc_provider.introspection())
    assert_refused(whoami(app, secrets.token_urlsafe(32)), 401, "invalid_token",
                   hint="not active")


def test_a_token_from_a_provider_whose_clock_runs_a_moment_ahead_is_accepted(
        oidc_provider: OidcProvider, clock: Clock) -> None:
    """RFC 7519 section 4.1.5 allows "some small leeway ... to account for clock skew", and
    section 4.1.6 makes iat informational: a provider on another host whose clock runs 0.3 s
    ahead issues iat = int(its now), ahead of ours about one request in three. The jwt method
    allows OTC_AUTH_JWT_CLOCK_SKEW (60 s) for iat and nbf; oauth must too."""
    token = oidc_provider.token(RESOURCE)
    clock.now = jwt.decode(token, options={"verify_signature": False})["iat"] - 0.3
    assert whoami(provider_app(oidc_provider), token).status_code == 200
