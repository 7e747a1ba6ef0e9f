"""Certificate-bound access tokens, RFC 8705 section 3: cnf x5t#S256 against the connection."""

from __future__ import annotations

from typing import Any

from flask_otcauth.core.mtls_certs import thumbprint
from flask_otcauth.testing import LocalIssuer
from tests.oauth.conftest import RESOURCE, bearer, oauth_app

from .certs import make_client
from .test_mtls_method import CA, CLIENT

RFC8705_CNF = {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
"""RFC 8705 section 3.1's example confirmation claim."""
TLS = {"OTC_AUTH_MTLS_SOURCE": "tls", "OTC_AUTH_MTLS_BOUND_TOKENS": True}


def _whoami(app: Any, token: str, pem: str | None) -> Any:
    environ = {"SSL_CLIENT_CERT": pem} if pem else {}
    return app.test_client().get("/api/whoami", headers=bearer(token), environ_base=environ)


def test_a_bound_token_over_its_certificate_is_accepted(otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 8705 section 3: x5t#S256 is the base64url SHA-256 of the presented DER."""
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf={"x5t#S256": thumbprint(CLIENT.der)})
    assert _whoami(oauth_app(otc_oauth_issuer, **TLS), token, CLIENT.pem).status_code == 200


def test_a_bound_token_over_another_certificate_is_refused(
        otc_oauth_issuer: LocalIssuer) -> None:
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf={"x5t#S256": thumbprint(CLIENT.der)})
    response = _whoami(oauth_app(otc_oauth_issuer, **TLS), token, make_client(CA).pem)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_the_rfc8705_example_cnf_over_a_connection_without_a_certificate_is_refused(
        otc_oauth_issuer: LocalIssuer) -> None:
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf=RFC8705_CNF)
    assert _whoami(oauth_app(otc_oauth_issuer, **TLS), token, None).status_code == 401


def test_a_bound_token_on_a_server_that_reads_no_certificate_is_refused(
        otc_oauth_issuer: LocalIssuer) -> None:
    token = otc_oauth_issuer.make_token(audience=RESOURCE, cnf=RFC8705_CNF)
    assert _whoami(oauth_app(otc_oauth_issuer), token, CLIENT.pem).status_code == 401


def test_the_metadata_advertises_certificate_bound_tokens(otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 8705 section 3.4: tls_client_certificate_bound_access_tokens."""
    document = oauth_app(otc_oauth_issuer, **TLS).test_client().get(
        "/.well-known/oauth-protected-resource").json
    assert document["tls_client_certificate_bound_access_tokens"] is True
