"""The mtls method through the Flask test client: sources, trust, chains, records, rules.

RFC 8705 section 2 (the certificate authenticates the client), RFC 9440 section 2 (the
Client-Cert header a trusted proxy sets) and Appendix A (its example certificate and header).
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Flask

from flask_otcauth import OTCAuth, current_identity, require_auth

from .certs import RFC9440_CHAIN, Issued, make_ca, make_client

CA = make_ca()
OTHER_CA = make_ca("Wrong CA")
CLIENT = make_client(CA, spiffe="spiffe://example.org/agent")
PROXY = {"REMOTE_ADDR": "127.0.0.1"}


def _bundle(tmp_path: Any, ca: Issued = CA) -> str:
    path = tmp_path / "ca.pem"
    path.write_text(ca.pem)
    return str(path)


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(OTC_AUTH_METHODS=["mtls"], OTC_AUTH_RATELIMIT=None,
                      OTC_AUTH_FAILURE_RATELIMIT=None, OTC_AUTH_REQUIRE_HTTPS=False, **config)
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return {"subject": current_identity.subject, "scopes": sorted(current_identity.scopes)}

    return app


def record(issued: Issued, scopes: list[str]) -> dict[str, Any]:
    return {"id": "agent-1", "hash": "sha256:" + hashlib.sha256(issued.der).hexdigest(),
            "scopes": scopes}


def client_cert(der: bytes) -> str:
    return ":" + base64.b64encode(der).decode("ascii") + ":"


def header_app(tmp_path: Any, **config: Any) -> Flask:
    settings: dict[str, Any] = {"OTC_AUTH_MTLS_SOURCE": "client-cert",
                                "OTC_AUTH_MTLS_TRUSTED_PROXIES": ["127.0.0.1/32"],
                                "OTC_AUTH_MTLS_CA_BUNDLE": _bundle(tmp_path),
                                "OTC_AUTH_MTLS_CERTIFICATES": [record(CLIENT, ["tools:list"])]}
    settings.update(config)
    return make_app(**settings)


def test_a_recorded_certificate_from_the_tls_connection_is_the_caller() -> None:
    """RFC 8705 section 2: the certificate of the TLS handshake (SSL_CLIENT_CERT) identifies."""
    app = make_app(OTC_AUTH_MTLS_SOURCE="tls",
                   OTC_AUTH_MTLS_CERTIFICATES=[record(CLIENT, ["tools:list"])])
    response = app.test_client().get("/tools", environ_base={"SSL_CLIENT_CERT": CLIENT.pem})
    assert response.status_code == 200
    assert response.json == {"subject": "agent-1", "scopes": ["tools:list"]}


def test_no_certificate_is_missing_credentials() -> None:
    app = make_app(OTC_AUTH_MTLS_SOURCE="tls",
                   OTC_AUTH_MTLS_CERTIFICATES=[record(CLIENT, [])])
    response = app.test_client().get("/tools")
    assert response.status_code == 401
    assert response.json["error"] == "missing_credentials"


def test_a_spiffe_rule_grants_its_scopes_to_a_validated_certificate(tmp_path: Any) -> None:
    """RFC 9440 section 2.2 header, chain validated against the bundle, SPIFFE URI SAN rule."""
    app = header_app(tmp_path, OTC_AUTH_MTLS_CERTIFICATES=[], OTC_AUTH_MTLS_RULES=[
        {"spiffe": "spiffe://example.org/agent", "scopes": ["tools:call:*"]}])
    response = app.test_client().get("/tools", headers={"Client-Cert": client_cert(CLIENT.der)},
                                     environ_base=PROXY)
    assert response.status_code == 200
    assert response.json == {"subject": "spiffe://example.org/agent",
                             "scopes": ["tools:call:*"]}


def test_a_dns_rule_matches_the_dns_san(tmp_path: Any) -> None:
    app = header_app(tmp_path, OTC_AUTH_MTLS_CERTIFICATES=[], OTC_AUTH_MTLS_RULES=[
        {"dns": "agent.example.org", "id": "agent", "scopes": ["tools:list"]}])
    response = app.test_client().get("/tools", headers={"Client-Cert": client_cert(CLIENT.der)},
                                     environ_base=PROXY)
    assert response.json == {"subject": "agent", "scopes": ["tools:list"]}


def test_a_trusted_proxy_on_a_dual_stack_socket_is_trusted_by_its_ipv4_range(
        tmp_path: Any) -> None:
    """A dual-stack listener reports an IPv4 proxy as ``::ffff:127.0.0.1`` (RFC 4291 section
    2.5.5.2); the trusted range ``127.0.0.1/32`` names that proxy, as the policies' ranges do."""
    response = header_app(tmp_path).test_client().get(
        "/tools", headers={"Client-Cert": client_cert(CLIENT.der)},
        environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"})
    assert response.status_code == 200, response.json


def test_an_unknown_valid_certificate_is_refused(tmp_path: Any) -> None:
    other = make_client(CA, cn="stranger", dns="stranger.example.org")
    response = header_app(tmp_path).test_client().get(
        "/tools", headers={"Client-Cert": client_cert(other.der)}, environ_base=PROXY)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client_certificate"


def test_nginx_escaped_pem_with_a_failed_verdict_is_validated_in_the_app(tmp_path: Any) -> None:
    """nginx optional_no_ca: $ssl_client_verify is FAILED, the app validates the chain."""
    app = header_app(tmp_path, OTC_AUTH_MTLS_SOURCE="nginx")
    response = app.test_client().get("/tools", headers={
        "X-Client-Cert": quote(CLIENT.pem, safe=""),
        "X-Client-Verify": "FAILED:unable to verify the first certificate"}, environ_base=PROXY)
    assert response.status_code == 200


def test_traefik_base64_der_is_read(tmp_path: Any) -> None:
    app = header_app(tmp_path, OTC_AUTH_MTLS_SOURCE="traefik")
    value = quote(base64.b64encode(CLIENT.der).decode("ascii"), safe="")
    response = app.test_client().get("/tools", headers={"X-Forwarded-Tls-Client-Cert": value},
                                     environ_base=PROXY)
    assert response.status_code == 200


def test_envoy_xfcc_element_of_the_one_hop_is_read(tmp_path: Any) -> None:
    app = header_app(tmp_path, OTC_AUTH_MTLS_SOURCE="envoy")
    value = (f'By=spiffe://example.org/server;Hash={hashlib.sha256(CLIENT.der).hexdigest()};'
             f'Cert="{quote(CLIENT.pem, safe="")}";Subject="CN=agent"')
    response = app.test_client().get("/tools", headers={"X-Forwarded-Client-Cert": value},
                                     environ_base=PROXY)
    assert response.status_code == 200


def test_rfc9440_appendix_a_header_and_chain_validate_with_an_explicit_san_policy(
        tmp_path: Any) -> None:
    """RFC 9440 Appendix A: its certificate marks the SAN critical with a subject (CN=BC),
    which the WebPKI profile refuses; the app's end-entity policy accepts it. On a clock
    within the certificate's validity (2020-06-01)."""
    leaf, intermediate, _root = x509.load_pem_x509_certificates(RFC9440_CHAIN)
    bundle = tmp_path / "root.pem"
    bundle.write_bytes(RFC9440_CHAIN.split(b"-----END CERTIFICATE-----\n")[2]
                       + b"-----END CERTIFICATE-----\n")
    leaf_der = leaf.public_bytes(Encoding.DER)
    app = header_app(tmp_path, OTC_AUTH_MTLS_CA_BUNDLE=str(bundle),
                     OTC_AUTH_MTLS_CERTIFICATES=[{"id": "bc", "hash": "sha256:"
                                                  + hashlib.sha256(leaf_der).hexdigest()}])
    header = client_cert(leaf_der)
    assert header.startswith(":MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRswGQYDVQQKDBJ")
    chain = client_cert(intermediate.public_bytes(Encoding.DER))
    clock = time.time
    try:
        time.time = lambda: 1590969600.0  # type: ignore[assignment]
        response = app.test_client().get("/tools", headers={
            "Client-Cert": header, "Client-Cert-Chain": chain}, environ_base=PROXY)
    finally:
        time.time = clock  # type: ignore[assignment]
    assert response.status_code == 200, response.json
    assert response.json["subject"] == "bc"


@pytest.mark.parametrize("setting", [
    {"OTC_AUTH_MTLS_SOURCE": "nginx"},
    {"OTC_AUTH_MTLS_SOURCE": "tls", "OTC_AUTH_MTLS_TRUSTED_PROXIES": ["10.0.0.1/8"]},
])
def test_init_app_refuses_a_header_source_without_trusted_proxies_or_a_bad_cidr(
        setting: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="OTC_AUTH_MTLS_TRUSTED_PROXIES"):
        make_app(OTC_AUTH_MTLS_CERTIFICATES=[record(CLIENT, [])], **setting)
