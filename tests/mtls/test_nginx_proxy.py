"""A real proxy: Debian's nginx on loopback, ssl_verify_client optional_no_ca, forwarding
$ssl_client_escaped_cert to gunicorn; the app validates the chain (RFC 9440 section 3's
deployment, with nginx's own header)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port

from .certs import make_client
from .test_mtls_method import CA, CLIENT, OTHER_CA, record
from .test_werkzeug_direct import _server_certificate, _write

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


@pytest.fixture
def nginx(tmp_path: Path, gunicorn: Any) -> Iterator[str]:
    if NGINX is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed: apt-get install -y nginx")
    (tmp_path / "ca.pem").write_text(CA.pem)
    upstream = gunicorn({"OTC_AUTH_METHODS": ["mtls"], "OTC_AUTH_MTLS_SOURCE": "nginx",
                         "OTC_AUTH_MTLS_TRUSTED_PROXIES": ["127.0.0.1/32"],
                         "OTC_AUTH_MTLS_CA_BUNDLE": str(tmp_path / "ca.pem"),
                         "OTC_AUTH_MTLS_CERTIFICATES": [record(CLIENT, ["tools:list"])],
                         "OTC_AUTH_REQUIRE_HTTPS": False},
                        args=("-w", "1"))
    cert, key = _write(_server_certificate(), tmp_path, "server")
    port = free_port()
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/logs/error.log;
events {{}}
http {{
  access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};
  fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert}; ssl_certificate_key {key};
    ssl_verify_client optional_no_ca;
    location / {{
      proxy_pass {upstream};
      proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-Client-Verify $ssl_client_verify;
    }}
  }}
}}
""")
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)])  # noqa: S603
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"https://127.0.0.1:{port}/health", verify=False, timeout=1)  # noqa: S501
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _get(url: str, tmp_path: Path, issued: Any) -> httpx.Response:
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    if issued is not None:
        context.load_cert_chain(*_write(issued, tmp_path, "client"))
    return httpx.get(f"{url}/tools/Math.add", verify=context, timeout=10)


def test_nginx_forwards_the_client_certificate_and_the_app_validates_it(
        nginx: str, tmp_path: Path) -> None:
    response = _get(nginx, tmp_path, CLIENT)
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "agent-1"


def test_nginx_forwards_a_wrong_ca_certificate_and_the_app_refuses_it(
        nginx: str, tmp_path: Path) -> None:
    response = _get(nginx, tmp_path, make_client(OTHER_CA))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client_certificate"
