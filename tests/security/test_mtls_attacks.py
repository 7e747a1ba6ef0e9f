"""Attacks on mutual TLS: forged headers, doubled headers, forged hops, bad certificates.

RFC 9440 section 3 (a header from anyone but the proxy is a forgery), RFC 5280 section 6
(path validation: issuer, validity, extended key usage, by cryptography's verifier).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from tests.mtls.certs import make_client
from tests.mtls.test_mtls_method import CA, CLIENT, OTHER_CA, PROXY, client_cert, header_app

STRANGER = {"REMOTE_ADDR": "203.0.113.9"}


def _get(app: Any, headers: dict[str, str], environ: dict[str, str] = PROXY) -> Any:
    return app.test_client().get("/tools", headers=headers, environ_base=environ)


def test_a_client_sending_client_cert_itself_is_refused(tmp_path: Any) -> None:
    """RFC 9440 section 3: only the proxy may set Client-Cert."""
    response = _get(header_app(tmp_path), {"Client-Cert": client_cert(CLIENT.der)}, STRANGER)
    assert response.status_code == 401
    assert response.json["error"] == "untrusted_certificate_header"


def test_two_certificate_headers_are_refused(tmp_path: Any) -> None:
    response = _get(header_app(tmp_path), {"Client-Cert": client_cert(CLIENT.der),
                                           "X-Client-Cert": quote(CLIENT.pem, safe="")})
    assert response.json["error"] == "invalid_client_certificate"


def test_client_cert_sent_twice_is_refused(tmp_path: Any) -> None:
    value = client_cert(CLIENT.der)
    response = _get(header_app(tmp_path), {"Client-Cert": f"{value}, {value}"})
    assert response.json["error"] == "invalid_client_certificate"


def test_an_xfcc_with_a_forged_hop_is_refused(tmp_path: Any) -> None:
    forged = f'Cert="{quote(make_client(OTHER_CA).pem, safe="")}"'
    real = f'Cert="{quote(CLIENT.pem, safe="")}"'
    response = _get(header_app(tmp_path, OTC_AUTH_MTLS_SOURCE="envoy"),
                    {"X-Forwarded-Client-Cert": f"{forged},{real}"})
    assert response.json["error"] == "invalid_client_certificate"


def test_a_header_over_the_size_cap_is_refused(tmp_path: Any) -> None:
    response = _get(header_app(tmp_path, OTC_AUTH_MTLS_MAX_HEADER_BYTES=1024),
                    {"Client-Cert": ":" + "A" * 2000 + ":"})
    assert response.json["error"] == "invalid_client_certificate"


def test_a_certificate_from_the_wrong_ca_is_refused(tmp_path: Any) -> None:
    wrong = make_client(OTHER_CA)
    app = header_app(tmp_path, OTC_AUTH_MTLS_CERTIFICATES=[
        {"id": "w", "hash": "sha256:" + hashlib.sha256(wrong.der).hexdigest()}])
    assert _get(app, {"Client-Cert": client_cert(wrong.der)}).status_code == 401


def test_an_expired_certificate_is_refused(tmp_path: Any) -> None:
    expired = make_client(CA, expired=True)
    app = header_app(tmp_path, OTC_AUTH_MTLS_CERTIFICATES=[
        {"id": "e", "hash": "sha256:" + hashlib.sha256(expired.der).hexdigest()}])
    assert _get(app, {"Client-Cert": client_cert(expired.der)}).status_code == 401


def test_a_certificate_without_client_auth_eku_is_refused(tmp_path: Any) -> None:
    server_only = make_client(CA, client_auth=False)
    app = header_app(tmp_path, OTC_AUTH_MTLS_CERTIFICATES=[
        {"id": "s", "hash": "sha256:" + hashlib.sha256(server_only.der).hexdigest()}])
    response = _get(app, {"Client-Cert": client_cert(server_only.der)})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client_certificate"


def test_nginx_without_a_bundle_refuses_a_certificate_nginx_did_not_verify(
        tmp_path: Any) -> None:
    app = header_app(tmp_path, OTC_AUTH_MTLS_SOURCE="nginx", OTC_AUTH_MTLS_CA_BUNDLE=None)
    response = _get(app, {"X-Client-Cert": quote(CLIENT.pem, safe=""),
                          "X-Client-Verify": "FAILED:self signed certificate"})
    assert response.json["error"] == "invalid_client_certificate"


def test_traefik_value_that_is_not_strict_base64_is_refused(tmp_path: Any) -> None:
    app = header_app(tmp_path, OTC_AUTH_MTLS_SOURCE="traefik")
    value = base64.urlsafe_b64encode(CLIENT.der).decode().replace("=", "") + "!"
    assert _get(app, {"X-Forwarded-Tls-Client-Cert": value}).status_code == 401


def _whoami_with_bound_token(otc_oauth_issuer: Any, environ: dict[str, str]) -> Any:
    """GET /api/whoami of a server reading the TLS certificate (SSL_CLIENT_CERT in
    ``environ``), with an oauth token bound to CLIENT's certificate (RFC 8705 ``x5t#S256``)."""
    from flask_otcauth.core.mtls_certs import thumbprint  # noqa: PLC0415
    from tests.oauth.conftest import RESOURCE, bearer, oauth_app  # noqa: PLC0415

    token = otc_oauth_issuer.make_token(audience=RESOURCE,
                                        cnf={"x5t#S256": thumbprint(CLIENT.der)})
    app = oauth_app(otc_oauth_issuer, OTC_AUTH_MTLS_SOURCE="tls")
    return app.test_client().get("/api/whoami", headers=bearer(token), environ_base=environ)


def test_a_token_bound_to_certificate_a_over_certificate_b_is_refused(
        otc_oauth_issuer: Any) -> None:
    """RFC 8705 section 3: a stolen bound token is useless over another certificate."""
    response = _whoami_with_bound_token(otc_oauth_issuer, {
        "SSL_CLIENT_CERT": make_client(CA).pem})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_a_bound_token_over_a_connection_without_a_certificate_is_refused(
        otc_oauth_issuer: Any) -> None:
    """RFC 8705 section 3: a stolen bound token is useless over a connection without one."""
    response = _whoami_with_bound_token(otc_oauth_issuer, {})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert "connect with it" in response.json["developer_message"]
