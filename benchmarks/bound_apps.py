"""The rows of sender-constrained OTC credentials: an API key record and an HS256 token bound to
a DPoP key (RFC 9449, a new ES256 proof per request), and a client certificate forwarded by a
proxy in RFC 9440's ``Client-Cert`` (the proxy verified it; then the app validating the chain
itself against a CA bundle). Each compares with the bearer rows of :mod:`.apps` ("API key
record, no policy", "JWT, reused token"), which send the same key or token without a proof.

Proofs are accepted once, so as many are made when the case is built as the run sends, in both
processes ``benchmarks.instructions`` subtracts (only checking them is counted). The
certificates are generated when a case is built, by the mtls tests' own generator.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from flask import Flask

from flask_otcauth import OTCAuth, hash_key, require_auth
from flask_otcauth.client import DPoPKey
from tests.mtls.certs import Issued, make_ca, make_client

from .apps import API_KEY, AUDIENCE, JWT_SECRET, TOKEN_LIFETIME, Case, Headers, _flask, make_token
from .apps import tool_view as view

_URL: Final = "http://localhost/tool"
_LOOPBACK: Final = ["127.0.0.1/32"]  # the test client's REMOTE_ADDR: the "proxy"


def _app(**config: Any) -> Flask:
    app = _flask(OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
                 OTC_AUTH_REQUIRE_HTTPS=False, **config)
    OTCAuth(app)
    app.add_url_rule("/tool", view_func=require_auth(view))
    return app


class BoundProofs:
    """``size`` proofs of one ES256 key for the API key or for one HS256 token bound to it."""

    def __init__(self, credential: str, size: int) -> None:
        self.credential, self.size = credential, size
        self.key = DPoPKey.generate("ES256")
        self._token = ""
        self._proofs: list[str] = []

    def mint(self) -> None:
        if self._proofs:
            return
        secret = API_KEY
        if self.credential == "jwt":
            self._token = secret = make_token(cnf={"jkt": self.key.thumbprint})
        self._proofs = [self.key.proof("GET", _URL, access_token=secret)
                        for _ in range(self.size)]

    def headers(self, index: int) -> Headers:
        if self.credential == "jwt":
            return {"Authorization": "DPoP " + self._token, "DPoP": self._proofs[index]}
        return {"OTC-API-Key": API_KEY, "DPoP": self._proofs[index]}

    def app(self) -> Flask:
        self.mint()
        if self.credential == "jwt":
            return _app(OTC_AUTH_METHODS=["jwt"], OTC_AUTH_JWT_SECRET=JWT_SECRET,
                        OTC_AUTH_JWT_AUDIENCES=[AUDIENCE], OTC_AUTH_JWT_MAX_LIFETIME=TOKEN_LIFETIME,
                        OTC_AUTH_DPOP="accepted", OTC_AUTH_DPOP_METHODS=["jwt"])
        record = {"id": "bench", "hash": hash_key(API_KEY), "jkt": self.key.thumbprint}
        return _app(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[record],
                    OTC_AUTH_DPOP="accepted", OTC_AUTH_DPOP_METHODS=["api_key"])


class ForwardedCertificate:
    """A client certificate of a generated CA: in nginx's ``X-Client-Cert``
    (``$ssl_client_escaped_cert``) with its ``SUCCESS`` verdict, or, ``validated`` by the app
    against its CA bundle, in RFC 9440's ``Client-Cert`` (section 2.2)."""

    def __init__(self, *, validated: bool) -> None:
        self.validated = validated
        self._client: Issued | None = None
        self._ca: Issued | None = None
        self._header: Headers = {}

    def headers(self, index: int) -> Headers:
        return self._header

    def app(self) -> Flask:
        if self._client is None:
            self._ca = make_ca()
            self._client = make_client(self._ca)
            self._header = (
                {"Client-Cert": ":" + base64.b64encode(self._client.der).decode("ascii") + ":"}
                if self.validated else
                {"X-Client-Cert": quote(self._client.pem, safe=""), "X-Client-Verify": "SUCCESS"})
        config: dict[str, Any] = {
            "OTC_AUTH_METHODS": ["mtls"],
            "OTC_AUTH_MTLS_SOURCE": "client-cert" if self.validated else "nginx",
            "OTC_AUTH_MTLS_TRUSTED_PROXIES": _LOOPBACK,
            "OTC_AUTH_MTLS_CERTIFICATES": [
                {"id": "agent-1",
                 "hash": "sha256:" + hashlib.sha256(self._client.der).hexdigest()}]}
        if self.validated and self._ca is not None:
            bundle = Path(tempfile.mkdtemp(prefix="otcauth-bench-")) / "ca.pem"
            bundle.write_text(self._ca.pem)
            config["OTC_AUTH_MTLS_CA_BUNDLE"] = str(bundle)
        return _app(**config)


def bound_cases(new_tokens: int) -> Iterator[Case]:
    """DPoP-bound API key and HS256 token, then mTLS by proxy header without and with the
    app's own chain validation."""
    key, token = BoundProofs("api_key", new_tokens), BoundProofs("jwt", new_tokens)
    yield Case("API key record DPoP-bound, ES256 proof each request", key.app, key.headers)
    yield Case("JWT DPoP-bound, ES256 proof each request", token.app, token.headers)
    trusted, validated = ForwardedCertificate(validated=False), ForwardedCertificate(validated=True)
    yield Case("mTLS by proxy header (nginx, verified there), certificate record", trusted.app,
               trusted.headers)
    yield Case("mTLS by proxy header (Client-Cert), record + chain validated in the app",
               validated.app, validated.headers)
