"""Introspection with ``private_key_jwt`` client authentication (RFC 7523 section 2.2, OpenID
Connect Core section 9), through HTTP against an RFC 7662 endpoint on 127.0.0.1 that verifies
each client assertion with PyJWT, as an authorization server would, before it answers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import OKPAlgorithm

from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.testing import LocalIssuer

from ..helpers import assert_refused
from ..loopback_http import Answer, Form, LoopbackFormEndpoint
from .conftest import RESOURCE, bearer, oauth_app

CLIENT_ID: Final = "tools-server"
OPAQUE: Final = "2YotnFZFEjr1zCsicMWpAA"  # RFC 6749 / RFC 7662 section 2.1's example token
JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2


def new_keys() -> dict[str, Any]:
    return {"RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
            "EdDSA": ed25519.Ed25519PrivateKey.generate()}


KEYS: Final = new_keys()
OTHER_KEYS: Final = new_keys()  # the same types, not the client's


class AssertionCheckingEndpoint(LoopbackFormEndpoint):
    """Answers ``active`` for ``OPAQUE`` only to a client whose assertion PyJWT verifies with
    ``public_key`` (iss = sub = the client id, ``aud`` as expected, ``exp``/``iat``/``jti``
    present, a ``jti`` never seen before); anything else is 401 ``invalid_client``.
    ``assertions`` keeps (header, claims) of each verified one, ``authorizations`` the
    Authorization header of each request."""

    def __init__(self, public_key: Any, alg: str) -> None:
        self.public_key, self.alg = public_key, alg
        self.assertions: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.authorizations: list[str | None] = []
        super().__init__(self._respond)
        self.audience = self.url

    def _respond(self, headers: Mapping[str, str], form: Form) -> Answer:
        self.authorizations.append(headers.get("Authorization"))
        answer = self.answer(form)
        return (200, answer) if answer else (401, {"error": "invalid_client"})

    def answer(self, form: Form) -> dict[str, Any] | None:
        if form.get("client_assertion_type") != [JWT_BEARER]:
            return None
        assertion = form.get("client_assertion", [""])[0]
        try:
            claims = jwt.decode(assertion, self.public_key, algorithms=[self.alg],
                                audience=self.audience, issuer=CLIENT_ID, options={
                                    "require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        except jwt.PyJWTError:
            return None
        if claims["sub"] != CLIENT_ID or claims["jti"] in {c["jti"] for _, c in self.assertions}:
            return None
        self.assertions.append((jwt.get_unverified_header(assertion), claims))
        if form.get("token") != [OPAQUE]:
            return {"active": False}
        return {"active": True, "aud": RESOURCE, "exp": int(time.time()) + 300, "sub": "alice",
                "client_id": "agent-platform", "scope": "tools:list"}


def pem_file(folder: Path, key: Any) -> str:
    path = folder / "client-key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


@pytest.fixture(params=sorted(KEYS))
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def endpoint(alg: str) -> Iterator[AssertionCheckingEndpoint]:
    local = AssertionCheckingEndpoint(KEYS[alg].public_key(), alg)
    try:
        yield local
    finally:
        local.stop()


def app_for(issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint, private_key: Any,
            **fields: Any) -> Any:
    return oauth_app(issuer, OTC_AUTH_OAUTH_INTROSPECTION={
        "endpoint": endpoint.url, "client_id": CLIENT_ID, "private_key": private_key,
        "algorithm": endpoint.alg, **fields})


def test_an_opaque_token_is_introspected_with_a_verified_client_assertion(
        issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint, tmp_path: Path) -> None:
    """RFC 7523 section 2.2: client_assertion_type and client_assertion, no client secret."""
    app = app_for(issuer, endpoint, pem_file(tmp_path, KEYS[endpoint.alg]))

    response = app.test_client().get("/api/whoami", headers=bearer(OPAQUE))

    assert response.status_code == 200, response.json
    assert response.json["subject"] == "alice"
    assert len(endpoint.assertions) == 1
    assert endpoint.authorizations == [None]


def test_the_assertion_names_the_client_the_endpoint_and_lives_a_minute(
        issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint, tmp_path: Path) -> None:
    """RFC 7523 section 3: iss and sub the client id, aud the endpoint (OpenID Connect Core
    section 9), jti, and an exp that limits the time window."""
    app = app_for(issuer, endpoint, pem_file(tmp_path, KEYS[endpoint.alg]))
    app.test_client().get("/api/whoami", headers=bearer(OPAQUE))

    header, claims = endpoint.assertions[0]
    assert (claims["iss"], claims["sub"], claims["aud"]) == (CLIENT_ID, CLIENT_ID, endpoint.url)
    assert claims["exp"] - claims["iat"] == 60
    assert header["alg"] == endpoint.alg


def test_each_introspection_request_gets_a_new_jti(
        issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint, tmp_path: Path) -> None:
    """RFC 7523 section 3 item 7: the authorization server may refuse a jti it has seen."""
    client = app_for(issuer, endpoint, pem_file(tmp_path, KEYS[endpoint.alg])).test_client()

    client.get("/api/whoami", headers=bearer("first-opaque-token"))
    client.get("/api/whoami", headers=bearer("second-opaque-token"))

    assert len({claims["jti"] for _, claims in endpoint.assertions}) == 2


def test_assertion_audience_replaces_the_endpoint_as_aud(
        issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint, tmp_path: Path) -> None:
    """RFC 7523 section 3 item 3: the aud may be the authorization server's issuer."""
    endpoint.audience = issuer.issuer
    app = app_for(issuer, endpoint, pem_file(tmp_path, KEYS[endpoint.alg]),
                  assertion_audience=issuer.issuer)

    assert app.test_client().get("/api/whoami", headers=bearer(OPAQUE)).status_code == 200


def test_a_private_jwk_signs_with_its_own_kid(issuer: LocalIssuer, tmp_path: Path) -> None:
    """RFC 8037 section 2: an Ed25519 private JWK (d), its kid sent in the assertion header."""
    key = KEYS["EdDSA"]
    jwk = {**json.loads(OKPAlgorithm.to_jwk(key)), "kid": "client-key-1"}
    local = AssertionCheckingEndpoint(key.public_key(), "EdDSA")
    try:
        app = app_for(issuer, local, jwk)
        assert app.test_client().get("/api/whoami", headers=bearer(OPAQUE)).status_code == 200
        assert local.assertions[0][0]["kid"] == "client-key-1"
    finally:
        local.stop()


def test_an_assertion_the_endpoint_cannot_verify_is_a_503(
        issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint, tmp_path: Path) -> None:
    """RFC 6749 section 5.2: the endpoint answers 401 invalid_client; never an acceptance."""
    endpoint.public_key = OTHER_KEYS[endpoint.alg].public_key()
    app = app_for(issuer, endpoint, pem_file(tmp_path, KEYS[endpoint.alg]))

    response = app.test_client().get("/api/whoami", headers=bearer(OPAQUE))

    assert_refused(response, 503, "temporarily_unavailable")
    assert endpoint.assertions == []


def test_no_key_or_assertion_is_logged(issuer: LocalIssuer, endpoint: AssertionCheckingEndpoint,
                                       tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = pem_file(tmp_path, KEYS[endpoint.alg])
    endpoint.public_key = None  # every assertion refused: the warning path is logged too
    client = app_for(issuer, endpoint, path).test_client()

    body = client.get("/api/whoami", headers=bearer(OPAQUE)).get_data(as_text=True)

    logged = caplog.text + repr([record.__dict__ for record in caplog.records]) + body
    assert "introspection endpoint did not answer" in caplog.text
    pem_body = "".join(Path(path).read_text().splitlines()[1:-1])
    for line in (pem_body[:40], pem_body[-40:], OPAQUE, "eyJ"):
        assert line not in logged


def public_pem_file(folder: Path, key: Any) -> str:
    path = folder / "client-key.pub.pem"
    path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


def encrypted_pem_file(folder: Path, key: Any) -> str:
    path = folder / "client-key.enc.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"passphrase")))
    return str(path)


WRONG: Final[dict[str, Any]] = {
    "both a secret and a key": lambda d: {"client_secret": "s3cret", "algorithm": "RS256",
                                          "private_key": pem_file(d, KEYS["RS256"])},
    "neither a secret nor a key": lambda d: {},
    "an RSA key for ES256": lambda d: {"private_key": pem_file(d, KEYS["RS256"]),
                                       "algorithm": "ES256"},
    "a P-256 key for ES384": lambda d: {"private_key": pem_file(d, KEYS["ES256"]),
                                        "algorithm": "ES384"},
    "an Ed25519 key for RS256": lambda d: {"private_key": pem_file(d, KEYS["EdDSA"]),
                                           "algorithm": "RS256"},
    "HS256": lambda d: {"private_key": pem_file(d, KEYS["RS256"]), "algorithm": "HS256"},
    "no algorithm": lambda d: {"private_key": pem_file(d, KEYS["RS256"])},
    "an RSA key of 1024 bits": lambda d: {"private_key": pem_file(d, rsa.generate_private_key(
        65537, 1024)), "algorithm": "RS256"},  # noqa: S505 - the weak key is the point
    "a public key file": lambda d: {"private_key": public_pem_file(d, KEYS["ES256"]),
                                    "algorithm": "ES256"},
    "an encrypted PEM file": lambda d: {"private_key": encrypted_pem_file(d, KEYS["ES256"]),
                                        "algorithm": "ES256"},
    "the PEM itself": lambda d: {"private_key": Path(pem_file(d, KEYS["ES256"])).read_text(),
                                 "algorithm": "ES256"},
    "a missing file": lambda d: {"private_key": str(d / "absent.pem"), "algorithm": "ES256"},
    "a public JWK": lambda d: {"private_key": json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(
        KEYS["EdDSA"].public_key())), "algorithm": "EdDSA"},
    "algorithm with a secret": lambda d: {"client_secret": "s3cret", "algorithm": "RS256"},
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_wrong_client_authentication_refuses_to_start(issuer: LocalIssuer, tmp_path: Path,
                                                        case: str) -> None:
    """Exactly one of client_secret and private_key; a private key of the type its algorithm
    needs (RFC 7518 section 3.1), asymmetric only (HS256 would be client_secret_jwt)."""
    fields = {"endpoint": "http://127.0.0.1:9/introspect", "client_id": CLIENT_ID,
              **WRONG[case](tmp_path)}

    with pytest.raises(OTCAuthConfigError, match=r"OTC_AUTH_OAUTH_INTROSPECTION") as refused:
        oauth_app(issuer, OTC_AUTH_OAUTH_INTROSPECTION=fields)

    assert "BEGIN" not in str(refused.value)
