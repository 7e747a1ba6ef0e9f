"""Direct mode end to end: Werkzeug's server with an ssl_context asks for the client
certificate and puts it in SSL_CLIENT_CERT (RFC 8705 section 2, the TLS handshake itself)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import make_server

from .certs import NOW, Issued
from .test_mtls_method import CA, CLIENT, make_app, record


def _server_certificate() -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(CA.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(CA.key, hashes.SHA256()))
    return Issued(certificate, key)


def _write(issued: Issued, directory: Path, stem: str) -> tuple[str, str]:
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert.write_text(issued.pem)
    key.write_bytes(issued.key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return str(cert), str(key)


@pytest.fixture
def direct_server(tmp_path: Path) -> Iterator[str]:
    server_cert, server_key = _write(_server_certificate(), tmp_path, "server")
    (tmp_path / "ca.pem").write_text(CA.pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_cert, server_key)
    context.load_verify_locations(str(tmp_path / "ca.pem"))
    context.verify_mode = ssl.CERT_OPTIONAL
    app = make_app(OTC_AUTH_MTLS_SOURCE="tls",
                   OTC_AUTH_MTLS_CERTIFICATES=[record(CLIENT, ["tools:list"])])
    server = make_server("127.0.0.1", 0, app, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_a_client_certificate_in_the_handshake_is_the_caller(direct_server: str,
                                                             tmp_path: Path) -> None:
    client_cert, client_key = _write(CLIENT, tmp_path, "client")
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    context.load_cert_chain(client_cert, client_key)
    response = httpx.get(f"{direct_server}/tools", verify=context, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"subject": "agent-1", "scopes": ["tools:list"]}


def test_no_client_certificate_in_the_handshake_is_refused(direct_server: str,
                                                           tmp_path: Path) -> None:
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    response = httpx.get(f"{direct_server}/tools", verify=context, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "missing_credentials"
