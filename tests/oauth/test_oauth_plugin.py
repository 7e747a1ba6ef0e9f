"""The pytest plugin's local issuer, used the way a user's suite uses it (in a pytester)."""

from __future__ import annotations

import pytest

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
