"""DPoP with implementations we did not write: proofs made by npm dpop@1, dpop@2 and
oauth4webapi@3 accepted through HTTP by a real server on 127.0.0.1 (for oauth tokens and for
OTC HS256 tokens bound by cnf.jkt), and tokens that npm
oidc-provider, its DPoP feature on, binds to our client's key (JWT and introspected). Under
CI=true they must run."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
import pytest
from werkzeug.serving import make_server

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.dpop import thumbprint
from flask_otcauth.testing import LocalIssuer

from ..flask.dpop_apps import BOUND_KEY_ID
from ..flask.dpop_apps import dpop_app as otc_dpop_app
from ..helpers import API_KEY, AUDIENCE, assert_refused, make_token
from ..node_packages import npm_install
from ..oidc_provider import OPAQUE_CLIENT, OidcProvider
from .conftest import RESOURCE, WHOAMI, bearer, dpop_app, oauth_app, send

pytestmark = pytest.mark.e2e
SCRIPT: Final = Path(__file__).parents[1] / "node" / "dpop_client.mjs"
TIMEOUT_SECONDS: Final = 30


class NodeDPoPClient:
    """``tests/node/dpop_client.mjs`` in node, holding one key of ``spec`` (``dpop@1``,
    ``dpop@2`` or ``oauth4webapi@3``) for ``alg``: it prints the public key the library made,
    then sends the requests it is given with the library's proofs. The script is copied beside
    the package's ``node_modules`` (an ES module resolves its imports from where it lives)."""

    def __init__(self, spec: str, alg: str) -> None:
        installed = npm_install(spec, purpose="DPoP peer")
        script = installed.modules.parent / SCRIPT.name
        shutil.copyfile(SCRIPT, script)
        library = spec.rpartition("@")[0]
        self._process = subprocess.Popen(  # noqa: S603 - our node, our script
            [installed.node, str(script), library, alg], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=script.parent)
        self.jwk: dict[str, Any] = self._read()["jwk"]

    def request(self, method: str, url: str, token: str, *,
                api_key: bool = False) -> dict[str, Any]:
        """``{"status", "body", "nonce_retry"}`` of one request the library made a proof for;
        ``api_key``: ``token`` is an API key, sent in its header (npm dpop only)."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"method": method, "url": url, "token": token,
                                              "api_key": api_key}) + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(TIMEOUT_SECONDS)
            assert self._process.stderr is not None
            raise AssertionError(f"the node DPoP client stopped: {self._process.stderr.read()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


PEERS = [("dpop@1", "ES256"), ("dpop@1", "PS256"), ("dpop@1", "EdDSA"),
         ("dpop@2", "ES256"), ("dpop@2", "Ed25519"), ("dpop@2", "PS256"),
         ("oauth4webapi@3", "ES256"), ("oauth4webapi@3", "EdDSA")]
NONCES = {"OTC_AUTH_DPOP_NONCES": True,
          "OTC_AUTH_DPOP_NONCE_SECRET": "a-nonce-secret-of-more-than-32-bytes-for-peers"}


def serve(issuer: LocalIssuer | None, **settings: Any) -> Iterator[str]:
    """A real server on 127.0.0.1: the oauth DPoP app, or (no issuer) the OTC one, whose jwt
    tokens, API keys and hmac clients take proofs."""
    app = dpop_app(issuer, **settings) if issuer is not None else otc_dpop_app(**settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def server(issuer: LocalIssuer) -> Iterator[str]:
    yield from serve(issuer)


@pytest.fixture
def nonce_server(issuer: LocalIssuer) -> Iterator[str]:
    yield from serve(issuer, **NONCES)


@pytest.fixture
def otc_server() -> Iterator[str]:
    yield from serve(None)


def started(spec: str, alg: str) -> Iterator[NodeDPoPClient]:
    client = NodeDPoPClient(spec, alg)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(params=PEERS, ids=lambda peer: f"{peer[0]}-{peer[1]}")
def peer(request: pytest.FixtureRequest) -> Iterator[NodeDPoPClient]:
    yield from started(*request.param)


@pytest.fixture(params=[peer for peer in PEERS if peer[0].startswith("dpop@")],
                ids=lambda peer: f"{peer[0]}-{peer[1]}")
def dpop_peer(request: pytest.FixtureRequest) -> Iterator[NodeDPoPClient]:
    """A peer of npm dpop, whose proofs go beside any header (oauth4webapi's beside
    Authorization only)."""
    yield from started(*request.param)


def bound_to(issuer: LocalIssuer, peer: NodeDPoPClient) -> str:
    return issuer.make_token(audience=RESOURCE, alg="ES256",
                             cnf={"jkt": thumbprint(peer.jwk)})


def test_an_independent_proof_is_accepted(server: str, issuer: LocalIssuer,
                                          peer: NodeDPoPClient) -> None:
    """RFC 9449 section 7: the library's proof, for its own key, over HTTP."""
    answer = peer.request("GET", f"{server}/api/whoami", bound_to(issuer, peer))
    assert answer["status"] == 200, answer
    assert json.loads(answer["body"])["method"] == "oauth"


def test_an_independent_proof_for_a_post_is_accepted(server: str, issuer: LocalIssuer,
                                                     peer: NodeDPoPClient) -> None:
    """RFC 9449 section 4.3 step 8: htm POST, from the library."""
    token = issuer.make_token(audience=RESOURCE, alg="ES256", scopes=["tools:list",
                              "tools:call:Math.Add"], cnf={"jkt": thumbprint(peer.jwk)})
    answer = peer.request("POST", f"{server}/api/call?x=1", token)
    assert answer["status"] == 200, answer


def test_an_independent_client_answers_the_nonce_challenge(nonce_server: str,
                                                           issuer: LocalIssuer,
                                                           peer: NodeDPoPClient) -> None:
    """RFC 9449 section 9: use_dpop_nonce, then the library's proof with our nonce."""
    answer = peer.request("GET", f"{nonce_server}/api/whoami", bound_to(issuer, peer))
    assert answer == {**answer, "status": 200, "nonce_retry": True}



def test_an_independent_proof_for_a_bound_hs256_token_is_accepted(
        otc_server: str, peer: NodeDPoPClient) -> None:
    """RFC 9449 section 7.1 for an OTC token: the library's proof for our cnf.jkt-bound HS256
    token (jwt in OTC_AUTH_DPOP_METHODS)."""
    token = make_token(aud=AUDIENCE, sub="alice", cnf={"jkt": thumbprint(peer.jwk)})
    answer = peer.request("GET", f"{otc_server}/tools", token)
    assert answer["status"] == 200, answer
    assert json.loads(answer["body"])["method"] == "jwt"


def test_an_independent_proof_for_a_bound_api_key_is_accepted(dpop_peer: NodeDPoPClient) -> None:
    """RFC 9449 section 4.3 for an API key record bound by jkt: npm dpop's proof, its ath the
    key's hash, and the key, over HTTP; without the proof the key is refused."""
    with contextlib.contextmanager(serve)(None, jkt=thumbprint(dpop_peer.jwk)) as url:
        answer = dpop_peer.request("GET", f"{url}/tools", API_KEY, api_key=True)
        assert answer["status"] == 200, answer
        assert json.loads(answer["body"])["subject"] == BOUND_KEY_ID
        assert httpx.get(f"{url}/tools", headers={"OTC-API-Key": API_KEY}).status_code == 401


def provider_app(provider: OidcProvider, **overrides: Any) -> Any:
    return oauth_app(None, entry=provider.issuer_entry(), OTC_AUTH_DPOP="accepted", **overrides)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_the_providers_bound_jwt_carries_our_thumbprint(oidc_provider: OidcProvider,
                                                        alg: str) -> None:
    """RFC 9449 section 6.1: the issued JWT's cnf.jkt is the RFC 7638 thumbprint we compute."""
    key = DPoPKey.generate(alg)
    token = oidc_provider.dpop_token(RESOURCE, key.proof)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.thumbprint}


def test_the_providers_bound_jwt_is_accepted_with_a_proof(oidc_provider: OidcProvider) -> None:
    """RFC 9449 section 7: the provider's bound token, our client's proof, over our checks."""
    key = DPoPKey.generate("ES256")
    token = oidc_provider.dpop_token(RESOURCE, key.proof)
    response = send(provider_app(oidc_provider).test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token))
    assert response.status_code == 200, response.json
    assert response.json is not None and response.json["client"] == "agent-platform"


def test_the_providers_bound_jwt_is_refused_as_bearer(oidc_provider: OidcProvider) -> None:
    """RFC 9449 section 7.2: the provider's bound token without its proof."""
    key = DPoPKey.generate("ES256")
    token = oidc_provider.dpop_token(RESOURCE, key.proof)
    response = provider_app(oidc_provider).test_client().get("/api/whoami",
                                                             headers=bearer(token))
    assert_refused(response, 401, "invalid_token", hint="DPoP-bound")


def test_the_providers_bound_jwt_with_another_keys_proof_is_refused(
        oidc_provider: OidcProvider) -> None:
    """RFC 9449 section 4.3 step 12: a thief's proof for the provider's bound token."""
    token = oidc_provider.dpop_token(RESOURCE, DPoPKey.generate("ES256").proof)
    thief = DPoPKey.generate("ES256")
    response = send(provider_app(oidc_provider).test_client(), token,
                    thief.proof("GET", WHOAMI, access_token=token))
    assert_refused(response, 401, "invalid_dpop_proof", hint="cnf.jkt")


def test_an_opaque_bound_token_is_accepted_through_introspection(
        oidc_provider: OidcProvider) -> None:
    """RFC 9449 section 6.2: the introspection answer carries cnf.jkt for an opaque token."""
    key = DPoPKey.generate("ES256")
    token = oidc_provider.dpop_token(RESOURCE, key.proof, client=OPAQUE_CLIENT)
    app = provider_app(oidc_provider, OTC_AUTH_OAUTH_INTROSPECTION=oidc_provider.introspection())
    response = send(app.test_client(), token, key.proof("GET", WHOAMI, access_token=token))
    assert response.status_code == 200, response.json
    assert_refused(app.test_client().get("/api/whoami", headers=bearer(token)), 401,
                   "invalid_token", hint="DPoP-bound")
