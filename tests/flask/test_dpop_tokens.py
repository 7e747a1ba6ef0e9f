"""DPoP for OTC HS256 tokens (method jwt, RFC 9449): a token bound by cnf.jkt is only good with
a proof of its key, through HTTP."""

from __future__ import annotations

import pytest

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.testing import LocalIssuer, credential_headers

from ..conftest import build_app
from ..helpers import assert_refused
from .dpop_apps import URL, bound_token, dpop_app, get, with_token


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate("ES256")


def test_a_bound_hs256_token_with_its_proof_is_accepted(key: DPoPKey) -> None:
    """RFC 9449 section 7.1: Authorization: DPoP <token> with a proof of the cnf.jkt key."""
    token = bound_token(key)
    response = with_token(dpop_app(key), token, key.proof("GET", URL, access_token=token))
    assert response.status_code == 200, response.json
    assert response.json == {"method": "jwt", "subject": "alice", "client": "otc-client"}


def test_the_scheme_name_is_case_insensitive(key: DPoPKey) -> None:
    """RFC 9110 section 11.1: the auth scheme is case-insensitive (dpop as DPoP)."""
    token = bound_token(key)
    response = with_token(dpop_app(key), token, key.proof("GET", URL, access_token=token),
                          scheme="dpop")
    assert response.status_code == 200, response.json


def test_a_bound_hs256_token_sent_as_bearer_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: a DPoP-bound token is never accepted as a bearer token."""
    response = with_token(dpop_app(key), bound_token(key), None, scheme="Bearer")
    assert_refused(response, 401, "invalid_token", hint="DPoP-bound (cnf.jkt)")


def test_a_bound_hs256_token_sent_as_bearer_is_refused_with_dpop_off(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: the binding holds with DPoP off too (it cannot be checked)."""
    response = with_token(build_app(), bound_token(key), None, scheme="Bearer")
    assert_refused(response, 401, "invalid_token", hint="DPoP-bound (cnf.jkt)")


def test_a_bound_token_needs_a_dpop_header(key: DPoPKey) -> None:
    """RFC 9449 section 7.1: Authorization: DPoP comes with a DPoP proof header."""
    response = with_token(dpop_app(key), bound_token(key), None)
    assert_refused(response, 401, "invalid_dpop_proof", hint="needs a DPoP header")


def test_an_unbound_hs256_token_is_refused_as_dpop(key: DPoPKey) -> None:
    """RFC 9449 section 6: a token without cnf.jkt proves nothing with a proof beside it."""
    token = bound_token(None)
    response = with_token(dpop_app(key), token, key.proof("GET", URL, access_token=token))
    assert_refused(response, 401, "invalid_token", hint="not bound to a DPoP key")


def test_the_proof_key_must_be_the_tokens_cnf_jkt(key: DPoPKey) -> None:
    """RFC 9449 section 6.1: the proof's jwk thumbprint equals the token's cnf.jkt."""
    token, thief = bound_token(key), DPoPKey.generate("EdDSA")
    response = with_token(dpop_app(key), token, thief.proof("GET", URL, access_token=token))
    assert_refused(response, 401, "invalid_dpop_proof", hint="not the one the token is bound to")


def test_a_replayed_proof_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 11.1: one proof, one request; the jti is remembered."""
    app, token = dpop_app(key), bound_token(key)
    proof = key.proof("GET", URL, access_token=token)
    assert with_token(app, token, proof).status_code == 200
    assert_refused(with_token(app, token, proof), 401, "invalid_dpop_proof", hint="used before")


def test_an_unbound_bearer_token_still_works_when_dpop_is_accepted(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: "accepted" keeps Bearer for unbound tokens."""
    response = with_token(dpop_app(key), bound_token(None), None, scheme="Bearer")
    assert response.status_code == 200, response.json


def test_required_refuses_an_unbound_bearer_token(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: with DPoP required, Bearer is refused for every token."""
    response = with_token(dpop_app(key, dpop="required"), bound_token(None), None,
                          scheme="Bearer")
    assert_refused(response, 401, "invalid_token", hint="requires DPoP-bound tokens")


def test_a_dpop_challenge_carries_the_tokens_proof_error(key: DPoPKey) -> None:
    """RFC 9449 section 7.1: the DPoP challenge with algs and the error; Bearer's stays bare."""
    response = with_token(dpop_app(key, dpop_methods=("jwt",)), bound_token(key), "x.y.z")
    challenges = response.headers.getlist("WWW-Authenticate")
    assert 'Bearer realm="otc"' in challenges
    dpop = [value for value in challenges if value.startswith("DPoP ")]
    assert len(dpop) == 1
    assert dpop[0].startswith('DPoP realm="otc", algs="ES256 PS256 EdDSA", '
                              'error="invalid_dpop_proof"')


def test_hs256_and_oauth_dpop_tokens_are_routed_by_their_alg(
        key: DPoPKey, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9449 section 7.1 for both token methods: the token's alg decides whose it is."""
    app = dpop_app(key, dpop_methods=("jwt", "oauth"),
                   OTC_AUTH_METHODS=["jwt", "oauth"], OTC_AUTH_OAUTH_RESOURCE=URL,
                   OTC_AUTH_OAUTH_ISSUERS=[otc_oauth_issuer.config()])
    ours = bound_token(key)
    theirs = otc_oauth_issuer.make_token(audience=URL, cnf={"jkt": key.thumbprint})
    for token, method in ((ours, "jwt"), (theirs, "oauth")):
        response = with_token(app, token, key.proof("GET", URL, access_token=token))
        assert response.status_code == 200, response.json
        assert response.json is not None and response.json["method"] == method


def test_oauth_takes_no_proofs_when_dpop_methods_omits_it(
        key: DPoPKey, otc_oauth_issuer: LocalIssuer) -> None:
    """OTC_AUTH_DPOP_METHODS names the methods: oauth without it takes no DPoP request."""
    app = dpop_app(key, dpop_methods=("jwt",), OTC_AUTH_METHODS=["jwt", "oauth"],
                   OTC_AUTH_OAUTH_RESOURCE=URL, OTC_AUTH_OAUTH_ISSUERS=[otc_oauth_issuer.config()])
    token = otc_oauth_issuer.make_token(audience=URL, cnf={"jkt": key.thumbprint})
    response = with_token(app, token, key.proof("GET", URL, access_token=token))
    assert_refused(response, 401, "invalid_token", hint="OTC_AUTH_DPOP_METHODS omits oauth")


def test_dpop_methods_names_only_methods_a_key_can_be_bound_to() -> None:
    """OTC_AUTH_DPOP_METHODS: oauth, jwt, api_key, hmac; anything else refuses to start."""
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_DPOP_METHODS must name"):
        dpop_app(dpop_methods=("mtls",))


def test_the_plugin_makes_bound_jwt_headers(key: DPoPKey) -> None:
    """The pytest plugin mints a bound token with its proof when given dpop_key=."""
    app = dpop_app(key)
    response = get(app, credential_headers(app, "jwt", path="/tools", dpop_key=key,
                                           aud="otc-client"))
    assert response.status_code == 200, response.json
