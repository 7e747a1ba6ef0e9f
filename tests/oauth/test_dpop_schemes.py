"""DPoP beside Bearer: the downgrade refused (RFC 9449 section 7.2), the challenges (section
7.1), the metadata (RFC 9728 with RFC 9449 section 5.2's parameters), required mode, what
``flask otcauth check`` says of it, and the pytest plugin's DPoP headers."""

from __future__ import annotations

import pytest

from flask_otcauth.client import DPoPKey
from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.testing import LocalIssuer, credential_headers

from ..helpers import assert_refused
from .conftest import (
    ALGS,
    CHALLENGE,
    METADATA,
    RESOURCE,
    WHOAMI,
    bearer,
    bound_token,
    dpop_app,
    oauth_app,
    send,
)
from .test_oauth_check import check

DPOP_CHALLENGE = f"DPoP {ALGS}, {METADATA}"


def test_a_bound_token_sent_as_bearer_is_refused(issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 7.2: a DPoP-bound token is no bearer token."""
    response = dpop_app(issuer).test_client().get("/api/whoami",
                                                  headers=bearer(bound_token(issuer, key)))
    assert_refused(response, 401, "invalid_token", hint="send it as Authorization: DPoP")


def test_a_bound_token_sent_as_bearer_is_refused_with_dpop_off(issuer: LocalIssuer,
                                                               key: DPoPKey) -> None:
    """RFC 9449 section 7.2: even a server that takes no proofs refuses the downgrade."""
    response = oauth_app(issuer).test_client().get("/api/whoami",
                                                   headers=bearer(bound_token(issuer, key)))
    assert_refused(response, 401, "invalid_token", hint="DPoP-bound")


def test_an_unbound_bearer_token_still_works_when_dpop_is_accepted(issuer: LocalIssuer) -> None:
    """RFC 9449 section 7.1: "accepted" takes both schemes."""
    token = issuer.make_token(audience=RESOURCE)
    response = dpop_app(issuer).test_client().get("/api/whoami", headers=bearer(token))
    assert response.status_code == 200


def test_both_challenges_when_both_are_accepted(issuer: LocalIssuer) -> None:
    """RFC 9449 section 7.1, RFC 9110 section 11.6.1: a Bearer and a DPoP challenge."""
    response = dpop_app(issuer).test_client().get("/api/whoami")
    assert_refused(response, 401, "missing_credentials",
                   challenges=[CHALLENGE, DPOP_CHALLENGE])


def test_a_bad_proof_puts_the_error_on_the_dpop_challenge(issuer: LocalIssuer,
                                                          key: DPoPKey) -> None:
    """RFC 9449 section 7.1: error="invalid_dpop_proof" on the DPoP challenge only."""
    response = send(dpop_app(issuer).test_client(), bound_token(issuer, key), None)
    body = assert_refused(response, 401, "invalid_dpop_proof")
    assert response.headers.getlist("WWW-Authenticate") == [
        CHALLENGE, f'{DPOP_CHALLENGE}, error="invalid_dpop_proof", error_description="'
        + body["developer_message"] + '"']


def test_dpop_off_gives_no_dpop_challenge(issuer: LocalIssuer) -> None:
    """RFC 9449 section 7.1: a server that takes no proofs does not invite them."""
    response = oauth_app(issuer).test_client().get("/api/whoami")
    assert_refused(response, 401, "missing_credentials", challenges=[CHALLENGE])


def test_required_refuses_every_bearer_token(issuer: LocalIssuer) -> None:
    """RFC 9449 section 5.2 dpop_bound_access_tokens_required: only DPoP is taken."""
    token = issuer.make_token(audience=RESOURCE)
    response = dpop_app(issuer, OTC_AUTH_DPOP="required").test_client().get(
        "/api/whoami", headers=bearer(token))
    body = assert_refused(response, 401, "invalid_token", hint="requires DPoP-bound tokens")
    assert response.headers.getlist("WWW-Authenticate") == [
        f'{DPOP_CHALLENGE}, error="invalid_token", error_description="'
        + body["developer_message"] + '"']


def test_required_accepts_a_proof(issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 7.1: in required mode a bound token with its proof is the caller."""
    token = bound_token(issuer, key)
    response = send(dpop_app(issuer, OTC_AUTH_DPOP="required").test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token))
    assert response.status_code == 200


def test_metadata_advertises_the_proof_algorithms(issuer: LocalIssuer) -> None:
    """RFC 9449 section 5.2: dpop_signing_alg_values_supported in the resource metadata."""
    document = dpop_app(issuer).test_client().get(
        "/.well-known/oauth-protected-resource/mcp").json
    assert document is not None
    assert document["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "EdDSA"]
    assert "dpop_bound_access_tokens_required" not in document


def test_metadata_says_when_dpop_is_required(issuer: LocalIssuer) -> None:
    """RFC 9449 section 5.2: dpop_bound_access_tokens_required: true."""
    document = dpop_app(issuer, OTC_AUTH_DPOP="required").test_client().get(
        "/.well-known/oauth-protected-resource/mcp").json
    assert document is not None and document["dpop_bound_access_tokens_required"] is True


def test_metadata_without_dpop_names_none_of_it(issuer: LocalIssuer) -> None:
    """RFC 9728 section 2: DPoP off, no DPoP parameter."""
    document = oauth_app(issuer).test_client().get(
        "/.well-known/oauth-protected-resource/mcp").json
    assert document is not None and not [name for name in document if "dpop" in name]


def test_a_dpop_request_to_a_server_without_dpop_is_refused(issuer: LocalIssuer,
                                                             key: DPoPKey) -> None:
    """RFC 9449 section 7.1: the scheme is not silently ignored."""
    token = bound_token(issuer, key)
    response = send(oauth_app(issuer).test_client(), token,
                    key.proof("GET", WHOAMI, access_token=token))
    assert_refused(response, 401, "invalid_token", hint="OTC_AUTH_DPOP is off")


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], [], "ES256"])
def test_symmetric_or_no_algorithms_refuse_to_start(issuer: LocalIssuer,
                                                    algorithms: object) -> None:
    """RFC 9449 section 4.2: a proof's alg is asymmetric, never none or a MAC."""
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_DPOP_ALGORITHMS"):
        dpop_app(issuer, OTC_AUTH_DPOP_ALGORITHMS=algorithms)


def test_ed25519_is_configured_as_eddsa(issuer: LocalIssuer) -> None:
    """RFC 9864: Ed25519 is the fully specified name of EdDSA over Ed25519."""
    document = dpop_app(issuer, OTC_AUTH_DPOP_ALGORITHMS=["Ed25519", "ES256"]).test_client().get(
        "/.well-known/oauth-protected-resource/mcp").json
    assert document is not None
    assert document["dpop_signing_alg_values_supported"] == ["EdDSA", "ES256"]


def test_required_mode_asks_for_dpop_when_nothing_is_sent(issuer: LocalIssuer) -> None:
    """RFC 9449 section 7.1: the missing-credential hint names the only scheme taken."""
    response = dpop_app(issuer, OTC_AUTH_DPOP="required").test_client().get("/api/whoami")
    assert_refused(response, 401, "missing_credentials", hint="Authorization: DPoP",
                   challenges=[DPOP_CHALLENGE])


def test_check_describes_dpop(issuer: LocalIssuer) -> None:
    """RFC 9449 section 11.1: where seen proofs are kept, and for how long iat is accepted."""
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()], OTC_AUTH_DPOP="required")
    assert result.exit_code == 0, result.output
    assert ("oauth: DPoP required (ES256, PS256, EdDSA; iat within 300 s; seen proofs kept in "
            "memory://)") in result.output


def test_check_warns_that_memory_replay_is_per_worker(issuer: LocalIssuer) -> None:
    """RFC 9449 section 11.1: with memory:// each worker remembers its own proofs."""
    result = check("--workers", "4", OTC_AUTH_OAUTH_ISSUERS=[issuer.config()],
                   OTC_AUTH_DPOP="accepted")
    assert "DPoP proofs are remembered per worker" in result.output


def test_check_says_nothing_of_dpop_when_it_is_off(issuer: LocalIssuer) -> None:
    """RFC 9449: off by default, and then not mentioned."""
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])
    assert "DPoP" not in result.output


def test_the_plugin_makes_dpop_headers(issuer: LocalIssuer, key: DPoPKey) -> None:
    """RFC 9449 section 7.1: credential_headers(..., dpop_key=key) gives the DPoP scheme and a
    proof for that very request."""
    app = dpop_app(issuer, SERVER_NAME="tools.example.com")
    token = bound_token(issuer, key)
    headers = credential_headers(app, "oauth", "GET", "/api/whoami", token=token,
                                 dpop_key=key)
    assert headers["Authorization"] == f"DPoP {token}"
    response = app.test_client().get("/api/whoami", headers=headers)
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("cnf", [5, "jkt", ["jkt"], {"kid": "abc"}])
def test_a_cnf_without_jkt_is_no_dpop_binding(issuer: LocalIssuer, cnf: object) -> None:
    """RFC 7800 section 3.1, RFC 9449 section 6.1: only cnf.jkt binds to a DPoP key; any other
    cnf is no reason to refuse a bearer token here (nor a 500). A cnf x5t#S256 is a binding of
    its own (RFC 8705 section 3), refused where no certificate is read: tests/mtls."""
    token = issuer.make_token(audience=RESOURCE, cnf=cnf)
    response = oauth_app(issuer).test_client().get("/api/whoami", headers=bearer(token))
    assert response.status_code == 200, response.json
