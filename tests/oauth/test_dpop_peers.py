"""Proofs made by independent clients (npm dpop@1, dpop@2, oauth4webapi@3) accepted through
HTTP by a real server on 127.0.0.1; under CI=true they must run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from flask_otcauth.core.dpop import thumbprint
from flask_otcauth.testing import LocalIssuer

from ..dpop_peers import NodeDPoPClient
from .conftest import RESOURCE
from .dpop_support import dpop_app

PEERS = [("dpop@1", "ES256"), ("dpop@1", "PS256"), ("dpop@1", "EdDSA"),
         ("dpop@2", "ES256"), ("dpop@2", "Ed25519"), ("dpop@2", "PS256"),
         ("oauth4webapi@3", "ES256"), ("oauth4webapi@3", "EdDSA")]
NONCES = {"OTC_AUTH_DPOP_NONCES": True,
          "OTC_AUTH_DPOP_NONCE_SECRET": "a-nonce-secret-of-more-than-32-bytes-for-peers"}


def serve(issuer: LocalIssuer, **settings: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, dpop_app(issuer, **settings), threaded=True)
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


@pytest.fixture(params=PEERS, ids=lambda peer: f"{peer[0]}-{peer[1]}")
def peer(request: pytest.FixtureRequest) -> Iterator[NodeDPoPClient]:
    client = NodeDPoPClient(*request.param)
    try:
        yield client
    finally:
        client.close()


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
