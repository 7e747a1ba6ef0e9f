"""``flask otcauth check`` says how DPoP is set up, and warns when proofs can be replayed to
another worker (RFC 9449 section 11.1); the pytest plugin's helper makes DPoP headers."""

from __future__ import annotations

from flask_otcauth.client import DPoPKey
from flask_otcauth.testing import LocalIssuer, credential_headers

from .dpop_support import bound_token, dpop_app
from .test_oauth_check import check


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
