"""Certificate-bound tokens (RFC 8705 section 3) issued by an implementation we did not write:
npm oidc-provider, its mTLS feature on, binds a client's tokens to the certificate its token
request presented; our server accepts them only over a connection presenting that certificate.
Under CI=true they must run."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt
import pytest
from flask import Flask
from werkzeug.test import TestResponse

from ..helpers import assert_refused
from ..mtls.certs import make_client
from ..mtls.test_mtls_method import CA, CLIENT
from ..oidc_provider import OidcProvider
from .conftest import RESOURCE, bearer, oauth_app

pytestmark = pytest.mark.e2e


def provider_app(provider: OidcProvider, **overrides: Any) -> Flask:
    """The oauth app trusting the provider, reading the TLS connection's certificate."""
    return oauth_app(None, entry=provider.issuer_entry(), OTC_AUTH_MTLS_SOURCE="tls",
                     **overrides)


def whoami(app: Flask, token: str, pem: str | None) -> TestResponse:
    environ = {"SSL_CLIENT_CERT": pem} if pem is not None else {}
    return app.test_client().get("/api/whoami", headers=bearer(token), environ_base=environ)


def test_the_providers_bound_jwt_carries_the_certificates_thumbprint(
        oidc_provider: OidcProvider) -> None:
    """RFC 8705 section 3.1: cnf x5t#S256 is the base64url SHA-256 of the certificate's DER."""
    token = oidc_provider.certificate_bound_token(RESOURCE, CLIENT.pem)
    claims = jwt.decode(token, options={"verify_signature": False})
    expected = base64.urlsafe_b64encode(hashlib.sha256(CLIENT.der).digest()).rstrip(b"=")
    assert claims["cnf"] == {"x5t#S256": expected.decode()}


def test_the_providers_bound_jwt_is_accepted_over_its_certificate(
        oidc_provider: OidcProvider) -> None:
    """RFC 8705 section 3: the provider's bound token, over a connection with that certificate."""
    token = oidc_provider.certificate_bound_token(RESOURCE, CLIENT.pem)
    response = whoami(provider_app(oidc_provider), token, CLIENT.pem)
    assert response.status_code == 200, response.json
    assert response.json is not None and response.json["client"] == "cert-bound"


def test_the_providers_bound_jwt_over_another_certificate_is_refused(
        oidc_provider: OidcProvider) -> None:
    """RFC 8705 section 3: a stolen bound token over the thief's own certificate."""
    token = oidc_provider.certificate_bound_token(RESOURCE, CLIENT.pem)
    response = whoami(provider_app(oidc_provider), token, make_client(CA).pem)
    assert_refused(response, 401, "invalid_token", hint="another client certificate")


def test_the_providers_bound_jwt_without_a_certificate_is_refused(
        oidc_provider: OidcProvider) -> None:
    """RFC 8705 section 3: a bound token over a connection that presents no certificate."""
    token = oidc_provider.certificate_bound_token(RESOURCE, CLIENT.pem)
    response = whoami(provider_app(oidc_provider), token, None)
    assert_refused(response, 401, "invalid_token", hint="connect with it")


def test_the_providers_bound_jwt_on_a_server_reading_no_certificate_is_refused(
        oidc_provider: OidcProvider) -> None:
    """RFC 8705 section 3: a server that cannot check the binding refuses the token."""
    token = oidc_provider.certificate_bound_token(RESOURCE, CLIENT.pem)
    app = oauth_app(None, entry=oidc_provider.issuer_entry())
    assert_refused(whoami(app, token, CLIENT.pem), 401, "invalid_token", hint="reads none")
