"""The oauth method's token checks, each through HTTP (RFC 9068 access tokens, RFC 7519 claims,
RFC 8725 JWT best practices)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from flask_otcauth.testing import LocalIssuer, make_token

from ..conftest import API_KEY
from ..helpers import assert_refused
from .conftest import CHALLENGE, RESOURCE, bearer, claims_json, oauth_app, raw_token


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_a_token_of_each_default_algorithm_is_accepted(issuer: LocalIssuer, alg: str) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, alg=alg, scopes=["tools:list"])

    response = app.test_client().get("/api/whoami", headers=bearer(token))

    assert response.status_code == 200, response.json
    assert response.json == {"method": "oauth", "subject": "pytest", "client": None,
                             "scopes": ["tools:list"], "tenant": None, "issuer": issuer.issuer}


def test_the_identity_carries_client_tenant_and_issuer(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry=issuer.config(tenant_claim="org"))
    token = issuer.make_token(audience=RESOURCE, sub="alice", client_id="agent", azp="other",
                              org="acme", scp=["tools:list"])

    response = app.test_client().get("/api/whoami", headers=bearer(token))

    assert response.json == {"method": "oauth", "subject": "alice", "client": "agent",
                             "scopes": ["tools:list"], "tenant": "acme", "issuer": issuer.issuer}


def test_azp_names_the_client_when_client_id_is_absent(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, azp="agent")

    assert app.test_client().get("/api/whoami", headers=bearer(token)).json["client"] == "agent"


def test_a_configured_scope_claim_is_read(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry=issuer.config(scope_claim="permissions"))
    token = issuer.make_token(audience=RESOURCE, permissions=["tools:list"], scope="other")

    assert app.test_client().get("/api/whoami", headers=bearer(token)).json["scopes"] == [
        "tools:list"]


def test_an_unknown_issuer_is_refused_without_any_fetch(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, iss="https://evil.example.com")

    response = app.test_client().get("/api/whoami", headers=bearer(token))

    assert_refused(response, 401, "invalid_token", hint="not an issuer this server trusts")
    assert issuer.fetches == 0


def test_an_issuer_differing_only_in_a_trailing_slash_is_unknown(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, iss=issuer.issuer + "/")

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="not an issuer this server trusts")


def test_an_algorithm_off_the_issuers_list_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry=issuer.config(algorithms=["RS256"]))
    token = issuer.make_token(audience=RESOURCE, alg="ES256")

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="must be signed with RS256")


def test_an_alg_that_does_not_agree_with_the_keys_type_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)  # RS256 in the header, the kid of the EC key
    token = issuer.make_token(audience=RESOURCE, alg="RS256", kid=issuer.kid("EC"))

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="does not agree with its key")


def test_an_alg_other_than_the_jwks_own_alg_is_refused(issuer: LocalIssuer) -> None:
    keys = issuer.jwks()
    for member in keys["keys"]:
        if member["kty"] == "RSA":
            member["alg"] = "PS256"  # RFC 7517 section 4.4: the key is for PS256 only
    app = oauth_app(None, entry={"issuer": issuer.issuer, "jwks": keys})
    token = issuer.make_token(audience=RESOURCE, alg="RS256")

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="does not agree with its key")
    assert app.test_client().get("/api/whoami", headers=bearer(
        issuer.make_token(audience=RESOURCE, alg="PS256"))).status_code == 200


def test_a_token_without_kid_is_accepted_when_the_set_has_one_key(issuer: LocalIssuer) -> None:
    only_rsa = {"keys": [m for m in issuer.jwks()["keys"] if m["kty"] == "RSA"]}
    app = oauth_app(None, entry={"issuer": issuer.issuer, "jwks": only_rsa})
    header = json.dumps({"alg": "RS256", "typ": "JWT"}).encode()

    token = raw_token(issuer, header, claims_json(issuer, time.time()))

    assert app.test_client().get("/api/whoami", headers=bearer(token)).status_code == 200


def test_a_token_without_kid_is_refused_when_the_set_has_several(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    header = json.dumps({"alg": "RS256"}).encode()

    token = raw_token(issuer, header, claims_json(issuer, time.time()))

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="no kid")


def test_hs256_signed_with_the_providers_public_key_is_refused(issuer: LocalIssuer) -> None:
    """RFC 8725 section 2.1: the algorithm-confusion attack."""
    app = oauth_app(issuer)
    public_pem = issuer.private[issuer.kid("RSA")][1].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = json.dumps({"alg": "HS256", "kid": issuer.kid("RSA")}).encode()
    token = raw_token(issuer, header, claims_json(issuer, time.time()))
    signing_input = token.rsplit(".", 1)[0]
    forged = signing_input + "." + _b64(hmac.new(public_pem, signing_input.encode(),
                                                 hashlib.sha256).digest())

    response = app.test_client().get("/api/whoami", headers=bearer(forged))

    assert_refused(response, 401, "invalid_token", hint="must be signed with")
    assert issuer.fetches == 0


def test_alg_none_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    header = _b64(json.dumps({"alg": "none"}).encode())
    token = f"{header}.{_b64(claims_json(issuer, time.time()))}.AA"

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="must be signed with")


@pytest.mark.parametrize("parameter", ["jwk", "jku", "x5u", "x5c"])
def test_a_key_or_key_url_in_the_header_is_refused(issuer: LocalIssuer, parameter: str) -> None:
    """RFC 8725 section 3.10: never take the key from the token itself."""
    app = oauth_app(issuer)
    ec_key = next(m for m in issuer.jwks()["keys"] if m["kty"] == "EC")  # short: fits 512
    value: Any = ec_key if parameter == "jwk" else "https://evil.example/k"
    token = issuer.make_token(audience=RESOURCE, headers={parameter: value})

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="header may only carry")
    assert issuer.fetches == 0


def test_a_crit_header_is_refused(issuer: LocalIssuer) -> None:
    """RFC 7515 section 4.1.11: no critical extension is understood."""
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, headers={"crit": ["exp"]})

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="crit")


def test_at_jwt_is_required_when_the_issuer_says_so(issuer: LocalIssuer) -> None:
    """RFC 9068 section 4: typ at+jwt."""
    app = oauth_app(None, entry=issuer.config(token_type="at+jwt"))
    plain = issuer.make_token(audience=RESOURCE)
    typed = issuer.make_token(audience=RESOURCE, headers={"typ": "at+jwt"})

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(plain)), 401,
                   "invalid_token", hint="at+jwt")
    assert app.test_client().get("/api/whoami", headers=bearer(typed)).status_code == 200


def test_the_rfc_9068_example_shape_is_accepted(issuer: LocalIssuer) -> None:
    """RFC 9068 section 2.2's example claims (iss, exp, aud, sub, client_id, iat, jti, scope)
    with typ at+jwt, our issuer and resource in place of the example's."""
    app = oauth_app(None, entry=issuer.config(token_type="at+jwt"))
    token = issuer.make_token(audience=RESOURCE, headers={"typ": "at+jwt"}, sub="5ba552d67",
                              client_id="s6BhdRkqt3", jti="dbe39bf3a3ba4238a513f51d6e1691c4",
                              scopes=["openid", "profile", "reademail"])

    body = app.test_client().get("/api/whoami", headers=bearer(token)).json

    assert (body["subject"], body["client"]) == ("5ba552d67", "s6BhdRkqt3")
    assert body["scopes"] == ["openid", "profile", "reademail"]


@pytest.mark.parametrize("audience", [RESOURCE, [RESOURCE], ["other", RESOURCE],
                                      "HTTPS://Tools.Example.COM/mcp"])
def test_an_audience_naming_the_resource_is_accepted(issuer: LocalIssuer, audience: Any) -> None:
    """RFC 7519 section 4.1.3 (one of the values), RFC 3986 section 6.2.2.1 (scheme, host)."""
    app = oauth_app(issuer)

    assert app.test_client().get("/api/whoami", headers=bearer(issuer.make_token(
        audience=audience))).status_code == 200


@pytest.mark.parametrize("audience", ["https://tools.example.com/mcp2",
                                      "https://tools.example.com/MCP",
                                      "https://tools.example.com/mcp/", "https://tools.example.com",
                                      ["other"], []])
def test_an_audience_not_exactly_the_resource_is_refused(issuer: LocalIssuer,
                                                          audience: Any) -> None:
    app = oauth_app(issuer)

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(issuer.make_token(
        audience=audience))), 401, "invalid_token", hint="aud does not name")


def test_configured_audiences_replace_the_resource(issuer: LocalIssuer) -> None:
    app = oauth_app(None, entry=issuer.config(audiences=["api://tools"]))
    client = app.test_client()

    assert client.get("/api/whoami", headers=bearer(issuer.make_token(
        audience="api://tools"))).status_code == 200
    assert client.get("/api/whoami", headers=bearer(issuer.make_token(
        audience=RESOURCE))).status_code == 401


def test_a_claim_named_twice_is_refused(issuer: LocalIssuer) -> None:
    """RFC 7519 section 4 / RFC 8259: one member, one meaning."""
    app = oauth_app(issuer)
    payload = claims_json(issuer, time.time())[:-1] + b', "sub": "admin"}'
    header = json.dumps({"alg": "RS256", "kid": issuer.kid("RSA")}).encode()

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(
        raw_token(issuer, header, payload))), 401, "invalid_token", hint="names a member twice")


def test_exp_as_a_string_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    payload = claims_json(issuer, time.time(), exp=str(int(time.time()) + 300))
    header = json.dumps({"alg": "RS256", "kid": issuer.kid("RSA")}).encode()

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(
        raw_token(issuer, header, payload))), 401, "invalid_token", hint="exp must be a number")


def test_a_bad_signature_is_refused(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE)
    other = issuer.make_token(audience=RESOURCE, sub="someone-else")
    tampered = other.rsplit(".", 1)[0] + "." + token.rsplit(".", 1)[1]

    assert_refused(app.test_client().get("/api/whoami", headers=bearer(tampered)), 401,
                   "invalid_token", hint="signature does not verify",
                   challenges=[CHALLENGE + ', error="invalid_token", error_description='
                               '"The signature does not verify with the issuer\'s key."'])


def test_otc_and_oauth_tokens_each_reach_their_own_method(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer, methods=("jwt", "api_key", "oauth"))
    client = app.test_client()

    otc = client.get("/api/whoami", headers=bearer(make_token(app)))
    oauth = client.get("/api/whoami", headers=bearer(issuer.make_token(audience=RESOURCE)))

    assert (otc.status_code, otc.json["method"]) == (200, "jwt")
    assert (oauth.status_code, oauth.json["method"]) == (200, "oauth")


def test_an_otc_token_is_never_tried_by_oauth(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer, methods=("jwt", "oauth"))

    response = app.test_client().get("/api/oauth-only", headers=bearer(make_token(app)))

    assert_refused(response, 401, "invalid_token", hint="must be signed with")
    assert issuer.fetches == 0


def test_an_oauth_token_is_never_tried_by_jwt(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer, methods=("jwt", "oauth"))
    token = issuer.make_token(audience=RESOURCE, iss="https://unknown.example.com")

    response = app.test_client().get("/api/whoami", headers=bearer(token))

    # oauth's refusal (unknown issuer), not jwt's ("must be signed with HS256")
    assert_refused(response, 401, "invalid_token", hint="not an issuer this server trusts")


def test_an_api_key_works_beside_oauth(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer, methods=("oauth", "api_key"))

    response = app.test_client().get("/api/whoami", headers={"OTC-API-Key": API_KEY})

    assert (response.status_code, response.json["method"]) == (200, "api_key")


def test_an_expired_token_lacking_the_scope_gets_the_401(issuer: LocalIssuer) -> None:
    app = oauth_app(issuer)
    token = issuer.make_token(audience=RESOURCE, now=time.time() - 400, ttl=300, scopes=[])

    assert_refused(app.test_client().get("/api/tools", headers=bearer(token)), 401,
                   "invalid_token", hint="expired")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
