"""The oauth method in use: the pytest plugin's local issuer in a user's suite (a pytester), and
gunicorn workers on 127.0.0.1 verifying its tokens end to end."""

from __future__ import annotations

import httpx
import pytest

from flask_otcauth.testing import LocalIssuer

from ..conftest import ServerFactory

USER_TESTS = '''
import pytest
from flask import Flask
from flask_otcauth import OTCAuth, current_identity, require_auth
from flask_otcauth.testing import make_oauth_token


def make_app(issuer):
    app = Flask("user_app")
    app.config.update(TESTING=True, OTC_AUTH_METHODS=["oauth"],
                      OTC_AUTH_OAUTH_RESOURCE="https://tools.example.com",
                      OTC_AUTH_OAUTH_ISSUERS=[issuer.config()],
                      OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None)
    OTCAuth(app)

    @app.get("/tools")
    @require_auth(scopes=["tools:list"])
    def tools():
        return {"sub": current_identity.subject, "issuer": current_identity.issuer}

    return app


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_a_token_of_the_local_issuer_is_accepted(otc_oauth_issuer, alg):
    app = make_app(otc_oauth_issuer)
    token = make_oauth_token(app, otc_oauth_issuer, scopes=["tools:list"], alg=alg)
    response = app.test_client().get("/tools", headers={"Authorization": f"Bearer {token}"})
    assert response.json == {"sub": "pytest", "issuer": otc_oauth_issuer.issuer}
    assert otc_oauth_issuer.fetches == 1


def test_without_the_scope_the_view_is_403(otc_oauth_issuer):
    app = make_app(otc_oauth_issuer)
    token = make_oauth_token(app, otc_oauth_issuer, scopes=[])
    response = app.test_client().get("/tools", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_credential_headers_carry_a_given_token(otc_oauth_issuer):
    from flask_otcauth.testing import credential_headers
    app = make_app(otc_oauth_issuer)
    token = make_oauth_token(app, otc_oauth_issuer, scopes=["tools:list"])
    headers = credential_headers(app, "oauth", token=token)
    assert app.test_client().get("/tools", headers=headers).status_code == 200
'''


def test_the_local_issuer_serves_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=5)

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
