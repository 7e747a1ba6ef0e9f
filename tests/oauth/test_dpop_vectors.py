"""The examples of RFC 9449 and RFC 7638, exactly as printed, on a clock frozen at their time."""

from __future__ import annotations

from typing import Any, Final

import pytest
from flask import Flask

from flask_otcauth import OTCAuth, current_identity, require_auth
from flask_otcauth.core.dpop import DPoPVerifier, Proof, access_token_hash, thumbprint
from flask_otcauth.core.dpop_config import ACCEPTED, DPoPSettings
from flask_otcauth.core.dpop_replay import ReplayStore
from flask_otcauth.core.refusals import AuthFailure
from flask_otcauth.core.storage import MemoryStorage
from flask_otcauth.testing import LocalIssuer

from ..conftest import base_config
from .conftest import Clock
from .introspection_endpoint import IntrospectionEndpoint, introspection

# RFC 9449 section 4.1, the proof of a token request (the figure's line breaks removed).
SECTION_4_1_PROOF: Final = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0"
    "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10"
    "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoi"
    "UE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-"
    "GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg")
SECTION_4_1_IAT: Final = 1562262616
# RFC 9449 section 6.1: the cnf of a token bound to that proof's key.
SECTION_6_1_CNF: Final = {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
# RFC 9449 section 7.1: a protected resource request, its opaque token and its proof.
SECTION_7_1_TOKEN: Final = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
SECTION_7_1_PROOF: Final = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0"
    "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10"
    "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoi"
    "R0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6"
    "MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9"
    "RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA")
SECTION_7_1_IAT: Final = 1562262618
# RFC 7638 section 3.1: an RSA key and its SHA-256 thumbprint.
RFC_7638_KEY: Final = {
    "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
         "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR"
         "0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWh"
         "AI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
RFC_7638_THUMBPRINT: Final = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def verifier() -> DPoPVerifier:
    return DPoPVerifier(DPoPSettings(mode=ACCEPTED),
                        ReplayStore(MemoryStorage(), max_bytes=65536))


def test_rfc9449_section_4_1_proof_passes_every_check() -> None:
    """RFC 9449 section 4.1: the example proof, for POST https://server.example.com/token."""
    proof = verifier().check(SECTION_4_1_PROOF, method="POST",
                             uri="https://server.example.com/token", token=None,
                             now=SECTION_4_1_IAT)
    assert proof == Proof(SECTION_6_1_CNF["jkt"], "-BwC3ESc6acc2lTc")


def test_rfc9449_section_4_1_proof_is_bound_by_section_6_1_cnf() -> None:
    """RFC 9449 section 6.1: that key's thumbprint is the example's cnf.jkt."""
    checker = verifier()
    proof = checker.check(SECTION_4_1_PROOF, method="POST",
                          uri="https://server.example.com/token", token=None,
                          now=SECTION_4_1_IAT)
    checker.bind(proof, SECTION_6_1_CNF["jkt"])
    checker.spend(proof, SECTION_4_1_IAT)


def test_rfc9449_section_4_1_proof_is_stale_six_minutes_later() -> None:
    """RFC 9449 section 4.3 step 11: the same proof past the 300 s window."""
    with pytest.raises(AuthFailure, match="iat is more than 300 s"):
        verifier().check(SECTION_4_1_PROOF, method="POST",
                         uri="https://server.example.com/token", token=None,
                         now=SECTION_4_1_IAT + 360)


def test_rfc9449_section_7_1_ath_is_the_example_tokens_hash() -> None:
    """RFC 9449 section 7.1: ath of the example token."""
    assert access_token_hash(SECTION_7_1_TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_rfc7638_section_3_1_thumbprint() -> None:
    """RFC 7638 section 3.1: the required members only (e, kty, n), in order, hashed."""
    assert thumbprint(RFC_7638_KEY) == RFC_7638_THUMBPRINT


def resource_app(issuer: LocalIssuer, endpoint: IntrospectionEndpoint) -> Flask:
    """RFC 9449 section 7.1's resource server: https://resource.example.org/protectedresource,
    its opaque tokens introspected (RFC 9449 section 6.2)."""
    app = Flask(__name__)
    app.config.update(base_config(
        OTC_AUTH_METHODS=["oauth"], OTC_AUTH_DPOP="accepted",
        OTC_AUTH_OAUTH_RESOURCE="https://resource.example.org/protectedresource",
        OTC_AUTH_OAUTH_ISSUERS=[{"issuer": "https://server.example.com", "jwks": issuer.jwks()}],
        OTC_AUTH_OAUTH_INTROSPECTION=introspection(endpoint)))

    @app.get("/protectedresource")
    @require_auth
    def protected() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    OTCAuth(app)
    return app


def test_rfc9449_section_7_1_request_is_accepted_through_introspection(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint, clock: Clock) -> None:
    """RFC 9449 sections 6.2 and 7.1: the example request, its token introspected with the
    section 6.1 cnf, on the clock of the proof's iat."""
    clock.now = float(SECTION_7_1_IAT)
    endpoint.answers[SECTION_7_1_TOKEN] = {
        "active": True, "iss": "https://server.example.com", "sub": "someone@example.com",
        "aud": "https://resource.example.org/protectedresource",
        "exp": SECTION_7_1_IAT + 300, "cnf": SECTION_6_1_CNF}
    response = resource_app(issuer, endpoint).test_client().get(
        "/protectedresource", base_url="https://resource.example.org",
        headers={"Authorization": f"DPoP {SECTION_7_1_TOKEN}", "DPoP": SECTION_7_1_PROOF})
    assert response.status_code == 200, response.json
    assert response.json == {"subject": "someone@example.com"}


def test_rfc9449_section_7_1_token_introspected_as_bound_is_refused_as_bearer(
        issuer: LocalIssuer, endpoint: IntrospectionEndpoint, clock: Clock) -> None:
    """RFC 9449 section 7.2: the introspection answer's cnf.jkt binds the opaque token too."""
    clock.now = float(SECTION_7_1_IAT)
    endpoint.answers[SECTION_7_1_TOKEN] = {
        "active": True, "iss": "https://server.example.com", "sub": "someone@example.com",
        "aud": "https://resource.example.org/protectedresource",
        "exp": SECTION_7_1_IAT + 300, "cnf": SECTION_6_1_CNF}
    response = resource_app(issuer, endpoint).test_client().get(
        "/protectedresource", base_url="https://resource.example.org",
        headers={"Authorization": f"Bearer {SECTION_7_1_TOKEN}"})
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "invalid_token"
