"""The oauth method's time claims through HTTP: exp strict but for the issuer's leeway, iat and
nbf up to its clock_skew ahead (the jwt method's defaults), max_lifetime (RFC 7519 section 4.1,
RFC 9068 section 4)."""

from __future__ import annotations

import json
import time

from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from .conftest import RESOURCE, Clock, bearer, oauth_app, raw_token


def test_a_token_without_exp_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    payload = json.dumps({"iss": issuer.issuer, "aud": RESOURCE, "sub": "a"}).encode()
    header = json.dumps({"alg": "RS256", "kid": issuer.kid("RSA")}).encode()

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(
        raw_token(issuer, header, payload))), 401, "invalid_token", hint="lacks exp")


def test_an_expired_token_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, now=time.time() - 400, ttl=300)

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="expired")


def test_a_token_is_refused_from_its_exp_on_by_default(issuer: LocalIssuer,
                                                       clock: Clock) -> None:
    """RFC 7519 section 4.1.4: on or after exp the token is not accepted; no default leeway."""
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, now=clock.now - 300, ttl=300)
    clock.now = float(int(clock.now))

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="expired")


def test_the_issuers_leeway_accepts_a_token_expired_within_it(issuer: LocalIssuer) -> None:
    """RFC 7519 section 4.1.4: "some small leeway ... to account for clock skew"."""
    app = oauth_app(None, entry=issuer.config(leeway=60))
    expired_lately = issuer.make_token(audience=RESOURCE, now=time.time() - 330, ttl=300)

    assert app.test_client().get("/api/whoami", headers=bearer(expired_lately)).status_code == 200


def test_an_iat_a_second_ahead_of_the_clock_is_accepted_by_default(issuer: LocalIssuer,
                                                                   clock: Clock) -> None:
    """RFC 7519 section 4.1.6: iat is informational; a provider's clock a little ahead of ours
    must not refuse its fresh tokens (the default clock_skew is the jwt method's 60 s)."""
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, now=clock.now + 1)

    assert app.test_client().get("/api/whoami", headers=bearer(token)).status_code == 200


def test_an_nbf_within_the_default_clock_skew_is_accepted(issuer: LocalIssuer,
                                                          clock: Clock) -> None:
    """RFC 7519 section 4.1.5: "some small leeway ... to account for clock skew"."""
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, now=clock.now, nbf=int(clock.now) + 60)

    assert app.test_client().get("/api/whoami", headers=bearer(token)).status_code == 200


def test_an_nbf_beyond_the_default_clock_skew_is_refused(issuer: LocalIssuer,
                                                         clock: Clock) -> None:
    """RFC 7519 section 4.1.5: the token must not be accepted before nbf (beyond the skew)."""
    app = oauth_app(issuer)
    clock.now = float(int(clock.now))
    token = issuer.make_token(audience=RESOURCE, now=clock.now, nbf=int(clock.now) + 61)

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="nbf is more than 60 s ahead")


def test_iat_beyond_the_clock_skew_is_refused(issuer: LocalIssuer) -> None:
    """RFC 7519 section 4.1.6: a token issued in the future was not issued by a sane clock."""
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, iat=int(time.time()) + 120)

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="iat is more than 60 s ahead")


def test_an_issuers_clock_skew_of_zero_refuses_an_iat_a_second_ahead(issuer: LocalIssuer,
                                                                     clock: Clock) -> None:
    """RFC 7519 section 4.1.6, with the issuer's clock_skew set to 0."""
    app = oauth_app(None, entry=issuer.config(clock_skew=0))
    token = issuer.make_token(audience=RESOURCE, now=clock.now + 1)

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="iat is more than 0 s ahead")


def test_max_lifetime_refuses_a_token_too_far_ahead(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry=issuer.config(max_lifetime=600))

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(issuer.make_token(
        audience=RESOURCE, ttl=3600))), 401, "invalid_token", hint="600 s ahead")
