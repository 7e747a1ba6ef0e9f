"""The checks of RFC 9449 section 4.3 in its order, each refused on its own through HTTP."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from flask_otcauth.client import DPoPKey
from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from .conftest import RESOURCE, WHOAMI, Clock, b64, bound_token, dpop_app, proof_parts, send, signed


@pytest.fixture
def app(issuer: LocalIssuer) -> Flask:
    return dpop_app(issuer)


def refused_with(response: object, hint: str) -> None:
    assert_refused(response, 401, "invalid_dpop_proof", hint=hint)


def test_a_proof_made_for_the_request_is_accepted(app: Flask, issuer: LocalIssuer,
                                                  key: DPoPKey) -> None:
    """RFC 9449 section 7: a bound token with a proof for this request is the caller."""
    token = bound_token(issuer, key)
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token))
    assert response.status_code == 200, response.json
    assert response.json is not None and response.json["method"] == "oauth"


def test_exactly_one_dpop_header(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 1: not more than one DPoP header (two arrive joined by a
    comma)."""
    token = bound_token(issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    refused_with(send(app.test_client(), token, f"{proof}, {proof}"), "exactly one DPoP header")


def test_a_dpop_header_is_needed(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 7.1: Authorization: DPoP comes with a proof."""
    refused_with(send(app.test_client(), bound_token(issuer, key), None), "needs a DPoP header")


def test_one_well_formed_compact_jws(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 2: the header is a well-formed JWT (three segments)."""
    refused_with(send(app.test_client(), bound_token(issuer, key), "not.a-proof"), "Not a JWT")


def test_a_padded_proof_is_not_well_formed(app: Flask, issuer: LocalIssuer,
                                           key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 2, RFC 7515 section 2: base64url without padding."""
    token = bound_token(issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    header, rest = proof.split(".", 1)
    refused_with(send(app.test_client(), token, header + "=." + rest), "Not a JWT")


def test_a_header_longer_than_the_cap_is_refused(app: Flask, issuer: LocalIssuer,
                                                 key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 2: a header past the size cap is not read."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    header["jwk"]["pad"] = "x" * 2100
    refused_with(send(app.test_client(), token, signed(key, header, claims)),
                 "longer than the 2048")


def test_typ_is_dpop_jwt(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 4: typ is dpop+jwt."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    header["typ"] = "JWT"
    refused_with(send(app.test_client(), token, signed(key, header, claims)), "typ must be")


def test_typ_is_required(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.2: typ is a required header parameter."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    del header["typ"]
    refused_with(send(app.test_client(), token, signed(key, header, claims)),
                 'typ must be "dpop+jwt"')


def test_alg_is_on_the_allow_list(app: Flask, issuer: LocalIssuer) -> None:
    """RFC 9449 section 4.3 step 5: an asymmetric alg this server accepts (ES384 is not on
    the default list)."""
    key = DPoPKey(ec.generate_private_key(ec.SECP384R1()), "ES384")
    token = bound_token(issuer, key)
    refused_with(send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token)),
                 "signed with one of ES256, PS256, EdDSA")


def test_signature_verifies_with_the_embedded_jwk(app: Flask, issuer: LocalIssuer,
                                                  key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 6: the signature verifies with the header's jwk."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    other = DPoPKey.generate("ES256")
    refused_with(send(app.test_client(), token, signed(other, header, claims)),
                 "signature does not verify")


def test_the_jwk_is_a_key_for_the_alg(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 6, RFC 7518 section 3.4: ES256 needs a P-256 EC key."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    header["jwk"] = DPoPKey.generate("EdDSA").public_jwk
    refused_with(send(app.test_client(), token, signed(key, header, claims)),
                 "not a key for its alg")


def test_the_jwk_holds_no_private_members(app: Flask, issuer: LocalIssuer,
                                          key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 7: the jwk is a public key (no d)."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    header["jwk"]["d"] = b64(b"\x01" * 32)
    refused_with(send(app.test_client(), token, signed(key, header, claims)),
                 "holds private key members")


def test_htm_equals_the_method(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 8: htm is the request's method."""
    token = bound_token(issuer, key)
    refused_with(send(app.test_client(), token, key.proof("POST", WHOAMI, access_token=token)),
                 "htm is not this request's method (GET)")


def test_htu_equals_the_request_uri(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 9: htu is the request's URI."""
    token = bound_token(issuer, key)
    proof = key.proof("GET", "https://tools.example.com/api/tools", access_token=token)
    refused_with(send(app.test_client(), token, proof),
                 "htu is not this request's URI (https://tools.example.com/api/whoami")


def test_htu_is_compared_after_rfc3986_normalisation(app: Flask, issuer: LocalIssuer,
                                                     key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 9, RFC 3986 sections 6.2.2 and 6.2.3: case, default port,
    percent-encoded unreserved characters and dot segments do not matter; query and fragment
    are ignored."""
    token = bound_token(issuer, key)
    proof = key.proof("GET", "HTTPS://Tools.Example.COM:443/api/x/../%77hoami?q=1#f",
                      access_token=token)
    response = send(app.test_client(), token, proof)
    assert response.status_code == 200, response.json


def test_iat_within_the_window(app: Flask, issuer: LocalIssuer, key: DPoPKey,
                               frozen: Clock) -> None:
    """RFC 9449 section 4.3 step 11: iat within the window (default 300 s either way)."""
    token = bound_token(issuer, key, now=frozen.now)
    client = app.test_client()
    stale = key.proof("GET", WHOAMI, access_token=token, now=frozen.now - 301)
    refused_with(send(client, token, stale), "iat is more than 300 s")
    ahead = key.proof("GET", WHOAMI, access_token=token, now=frozen.now + 301)
    refused_with(send(client, token, ahead), "iat is more than 300 s")
    edge = key.proof("GET", WHOAMI, access_token=token, now=frozen.now - 300)
    assert send(client, token, edge).status_code == 200


def test_ath_equals_the_token_hash(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 12 and section 7: ath is base64url(SHA-256(token))."""
    token = bound_token(issuer, key)
    other = bound_token(issuer, key, jti="another")
    refused_with(send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=other)),
                 "ath is not the hash of this access token")


def test_ath_is_required(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 7: a proof sent with a token carries ath."""
    token = bound_token(issuer, key)
    refused_with(send(app.test_client(), token, key.proof("GET", WHOAMI)), "ath is not")


def test_thumbprint_equals_cnf_jkt(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 12 and section 6: the proof's key is the token's cnf.jkt."""
    token = bound_token(issuer, DPoPKey.generate("ES256"))
    refused_with(send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token)),
                 "not the one the token is bound to")


def test_jti_not_seen_before(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 10 and section 11.1: a proof is used once."""
    token = bound_token(issuer, key)
    proof = key.proof("GET", WHOAMI, access_token=token)
    client = app.test_client()
    assert send(client, token, proof).status_code == 200
    refused_with(send(client, token, proof), "was used before")


def test_a_refused_token_spends_no_jti(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3: the jti is recorded only once the token verified too, so a proof
    sent with a refused token is refused for the token again, never as a replay."""
    token = bound_token(issuer, key, aud="https://someone-else.example")
    proof = key.proof("GET", WHOAMI, access_token=token)
    client = app.test_client()
    assert_refused(send(client, token, proof), 401, "invalid_token")
    assert_refused(send(client, token, proof), 401, "invalid_token")


def test_the_scheme_name_is_case_insensitive(app: Flask, issuer: LocalIssuer,
                                             key: DPoPKey) -> None:
    """RFC 9110 section 11.1, RFC 9449 section 7.1: "dpop" is "DPoP"."""
    token = bound_token(issuer, key)
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token),
                    scheme="dpop")
    assert response.status_code == 200, response.json


def test_an_unbound_token_is_refused_as_dpop(app: Flask, issuer: LocalIssuer,
                                             key: DPoPKey) -> None:
    """RFC 9449 section 7.1: a DPoP request's token is bound to the proof's key."""
    token = issuer.make_token(audience=RESOURCE, alg="ES256")
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token))
    assert_refused(response, 401, "invalid_token", hint="not bound to a DPoP key")


def test_proof_claims_are_strict_json(app: Flask, issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 3, RFC 7515 section 5.2: one meaning per proof (no member
    named twice)."""
    token = bound_token(issuer, key)
    header, claims = proof_parts(key, token)
    payload = json.dumps(claims)[:-1] + ', "htm": "GET"}'
    signing_input = (b64(json.dumps(header).encode()) + "."
                     + base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode())
    signature = jwt.get_algorithm_by_name("ES256").sign(signing_input.encode(),
                                                         key._private_key)
    refused_with(send(app.test_client(), token, f"{signing_input}.{b64(signature)}"),
                 "names a member twice")
