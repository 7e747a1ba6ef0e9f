"""The oauth method fed random and mutated access tokens through HTTP.

Invariants: never a 5xx, and a 2xx exactly when the header carries the valid token itself: one
spelling, one meaning (strict base64url, RFC 7515 section 2). The issuer's keys are a static
set, its server stopped: nothing here depends on a fetch.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from flask_otcauth import OTCAuth, current_identity, require_auth
from flask_otcauth.testing import LocalIssuer

from .test_request_path import header_text, mutated

RESOURCE = "https://tools.example.com"
ISSUER = LocalIssuer()
ISSUER.stop()  # nothing may be fetched: the keys are configured as a static set


def _app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, OTC_AUTH_METHODS=["oauth"], OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
                      OTC_AUTH_OAUTH_ISSUERS=[{"issuer": ISSUER.issuer, "jwks": ISSUER.jwks()}],
                      OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None)
    OTCAuth(app)

    @app.get("/")
    @require_auth
    def index() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    return app


APP = _app()
TOKENS = {alg: ISSUER.make_token(audience=RESOURCE, alg=alg, ttl=3600)
          for alg in ("RS256", "ES256", "EdDSA")}


@pytest.mark.parametrize("alg", sorted(TOKENS))
@given(data=st.data())
def test_a_mutated_token_is_refused_and_the_token_itself_accepted(alg: str, data: Any) -> None:
    token = TOKENS[alg]
    authorization = data.draw(st.one_of(
        mutated(f"Bearer {token}"), header_text, st.builds("Bearer {}".format, header_text),
        st.just(f"Bearer {token}")))
    response = APP.test_client().get("/", headers={"Authorization": authorization})
    accepted = re.fullmatch("[Bb][Ee][Aa][Rr][Ee][Rr] +" + re.escape(token), authorization)

    assert response.status_code < 500
    assert (response.status_code == 200) == (accepted is not None), authorization
