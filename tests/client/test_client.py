"""The signing client with real HTTP clients against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
import requests
from werkzeug.serving import make_server

from flask_otcauth.client import HttpxAuth, RequestsAuth, sign_request

from ..flask.test_hmac import hmac_app
from ..helpers import HMAC_CLIENT, HMAC_SECRET

PAYLOAD = {"tool": "echo", "arguments": {"text": "héllo"}}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The hmac test app in werkzeug's threaded server, on a free port."""
    httpd = make_server("127.0.0.1", 0, hmac_app(), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


def test_httpx_auth_signs_a_json_post(server: str) -> None:
    response = httpx.post(f"{server}/tools/echo?mode=fast", json=PAYLOAD,
                          auth=HttpxAuth(HMAC_CLIENT, HMAC_SECRET))

    assert response.status_code == 200
    assert response.json()["subject"] == HMAC_CLIENT


def test_httpx_auth_signs_every_request_of_a_client_anew(server: str) -> None:
    with httpx.Client(base_url=server, auth=HttpxAuth(HMAC_CLIENT, HMAC_SECRET)) as http:
        statuses = [http.get("/tools/list").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


def test_httpx_auth_works_with_the_async_client(server: str) -> None:
    async def call() -> int:
        async with httpx.AsyncClient(auth=HttpxAuth(HMAC_CLIENT, HMAC_SECRET)) as http:
            return (await http.put(f"{server}/tools/a%20b", content=b"\x00\xff raw")).status_code

    assert asyncio.run(call()) == 200


def test_requests_auth_signs_json_and_form_bodies(server: str) -> None:
    auth = RequestsAuth(HMAC_CLIENT, HMAC_SECRET)
    with requests.Session() as session:
        as_json = session.post(f"{server}/tools/echo", json=PAYLOAD, auth=auth, timeout=10)
        as_form = session.post(f"{server}/form", data={"text": "hi there"}, auth=auth,
                               timeout=10)
        no_body = session.get(f"{server}/tools/list?q=a+b", auth=auth, timeout=10)

    assert [as_json.status_code, as_form.status_code, no_body.status_code] == [200, 200, 200]
    assert as_form.json() == {"text": "hi there"}


def test_requests_auth_refuses_a_streamed_body(server: str) -> None:
    with pytest.raises(TypeError, match="streamed body"):
        requests.post(f"{server}/tools/echo", data=iter([b"a", b"b"]),
                      auth=RequestsAuth(HMAC_CLIENT, HMAC_SECRET), timeout=10)


def test_headers_signed_once_are_refused_the_second_time(server: str) -> None:
    url = f"{server}/tools/echo"
    headers = sign_request("POST", url, key_id=HMAC_CLIENT, secret=HMAC_SECRET, body=b"{}")

    first = httpx.post(url, content=b"{}", headers=headers)
    second = httpx.post(url, content=b"{}", headers=headers)

    assert [first.status_code, second.status_code] == [200, 401]


def test_sign_request_makes_a_new_nonce_each_time() -> None:
    first = sign_request("GET", "http://h/", key_id="c", secret=HMAC_SECRET)
    second = sign_request("GET", "http://h/", key_id="c", secret=HMAC_SECRET)

    assert first["Signature-Input"] != second["Signature-Input"]
