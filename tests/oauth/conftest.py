"""Shared set-up of the oauth tests: an app whose views accept oauth, a controlled clock, and
a real authorization server (npm oidc-provider) for the module that asks for one; for DPoP, an
app with it on, bound tokens, requests with a proof, and a signer that writes any proof header
and claims (the malformed ones the checks refuse)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any, Final

import jwt
import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_otcauth import OTCAuth, current_identity, require_auth
from flask_otcauth import guard as guard_module
from flask_otcauth.client import DPoPKey
from flask_otcauth.testing import LocalIssuer

from ..conftest import base_config
from ..oidc_provider import OidcProvider
from .introspection_endpoint import IntrospectionEndpoint

RESOURCE: Final = "https://tools.example.com/mcp"
METADATA_URL: Final = "https://tools.example.com/.well-known/oauth-protected-resource/mcp"
CHALLENGE: Final = f'Bearer resource_metadata="{METADATA_URL}"'
OTHER_RESOURCE: Final = "https://other.example.com/mcp"
PROVIDER_RESOURCES: Final = {RESOURCE: RESOURCE, OTHER_RESOURCE: OTHER_RESOURCE}
"""What oidc-provider issues tokens for: each resource indicator, the audience it stands for."""


class Clock:
    """Stands in for the guard's ``time`` module: the time every check sees."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def oauth_app(issuer: LocalIssuer | None, *, entry: dict[str, Any] | None = None,
              methods: tuple[str, ...] = ("oauth",), **overrides: Any) -> Flask:
    config = base_config(OTC_AUTH_METHODS=list(methods), OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
                         OTC_AUTH_OAUTH_ISSUERS=[entry or (issuer.config() if issuer else {})],
                         **overrides)
    app = Flask(__name__)
    app.config.update(config)
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/whoami")
    @require_auth
    def whoami() -> dict[str, Any]:
        identity = current_identity
        return {"method": identity.method, "subject": identity.subject,
                "client": identity.client, "scopes": sorted(identity.scopes),
                "tenant": identity.tenant, "issuer": identity.issuer}

    @api.get("/tools")
    @require_auth(scopes=["tools:list"])
    def tools() -> dict[str, Any]:
        return {"tools": []}

    @api.post("/call")
    @require_auth(scopes=["tools:list", "tools:call:Math.Add"])
    def call() -> dict[str, Any]:
        return {"result": 3}

    @api.get("/oauth-only")
    @require_auth(methods=["oauth"])
    def oauth_only() -> dict[str, Any]:
        return {"method": current_identity.method}

    app.register_blueprint(api)
    OTCAuth(app)
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw_token(issuer: LocalIssuer, header: bytes, payload: bytes, alg: str = "RS256",
              kty: str = "RSA") -> str:
    """A token whose header and payload bytes are exactly as given, signed with a real key."""
    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{encode(header)}.{encode(payload)}"
    key = issuer.private[issuer.kid(kty)][1]
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{encode(signature)}"


def claims_json(issuer: LocalIssuer, now: float, **extra: Any) -> bytes:
    return json.dumps({"iss": issuer.issuer, "aud": RESOURCE, "exp": int(now) + 300,
                       "sub": "alice", **extra}).encode()


BASE_URL: Final = "https://tools.example.com"
WHOAMI: Final = f"{BASE_URL}/api/whoami"
ALGS: Final = 'algs="ES256 PS256 EdDSA"'
METADATA: Final = 'resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp"'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(key: DPoPKey, header: dict[str, Any], claims: dict[str, Any],
           alg: str | None = None) -> str:
    """A proof whose header and claims are exactly these, signed with ``key``'s private key."""
    signing_input = (b64(json.dumps(header).encode()) + "."
                     + b64(json.dumps(claims).encode()))
    algorithm = jwt.get_algorithm_by_name(alg or key.algorithm)
    signature = algorithm.sign(signing_input.encode(), key._private_key)
    return f"{signing_input}.{b64(signature)}"


def proof_parts(key: DPoPKey, token: str | None, *, method: str = "GET", url: str = WHOAMI,
                now: float | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a correct proof, for a test to spoil one member of."""
    header = {"typ": "dpop+jwt", "alg": key.algorithm, "jwk": dict(key.public_jwk)}
    claims: dict[str, Any] = {"jti": f"jti-{time.monotonic_ns()}", "htm": method, "htu": url,
                              "iat": int(time.time() if now is None else now)}
    if token is not None:
        claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
    return header, claims


def dpop_app(issuer: LocalIssuer, **overrides: Any) -> Flask:
    """The oauth app with DPoP accepted beside Bearer."""
    return oauth_app(issuer, **{"OTC_AUTH_DPOP": "accepted", **overrides})


def bound_token(issuer: LocalIssuer, key: DPoPKey, alg: str = "ES256", **claims: Any) -> str:
    """An access token bound to ``key`` by ``cnf.jkt`` (RFC 9449 section 6.1)."""
    return issuer.make_token(audience=RESOURCE, alg=alg, cnf={"jkt": key.thumbprint}, **claims)


def send(client: FlaskClient, token: str, proof: str | None, *, method: str = "GET",
         path: str = "/api/whoami", scheme: str = "DPoP", **extra: str) -> TestResponse:
    headers = {"Authorization": f"{scheme} {token}", **extra}
    if proof is not None:
        headers["DPoP"] = proof
    return client.open(path, method=method, base_url=BASE_URL, headers=headers)


@pytest.fixture
def issuer(otc_oauth_issuer: LocalIssuer) -> LocalIssuer:
    """The pytest plugin's own local issuer, as a user's suite would use it."""
    return otc_oauth_issuer


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    controlled = Clock(time.time())
    monkeypatch.setattr(guard_module, "time", controlled)
    return controlled


def start_oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> OidcProvider:
    log = tmp_path_factory.mktemp("oidc-provider") / "oidc-provider.log"
    return OidcProvider(dict(PROVIDER_RESOURCES)).start(log)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One oidc-provider process for the module (a Node start costs about a second)."""
    provider = start_oidc_provider(tmp_path_factory)
    yield provider
    provider.stop()


@pytest.fixture
def endpoint() -> Iterator[IntrospectionEndpoint]:
    """An introspection endpoint on 127.0.0.1 that answers for ``RESOURCE``."""
    local = IntrospectionEndpoint(RESOURCE)
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def key() -> DPoPKey:
    """A DPoP client key (ES256), as a caller holds it."""
    return DPoPKey.generate("ES256")


@pytest.fixture
def frozen(clock: Clock) -> Clock:
    """The guard's clock on a whole second, so proofs' iat compare exactly."""
    clock.now = float(int(clock.now))
    return clock
