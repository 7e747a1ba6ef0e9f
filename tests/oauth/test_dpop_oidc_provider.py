"""DPoP-bound tokens from a real authorization server: npm oidc-provider with its DPoP
feature on binds a client_credentials token to our client's key (RFC 9449 section 5); the
resource server takes it with a proof and refuses it as Bearer, JWT and introspected alike."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from flask_otcauth.client import DPoPKey

from ..helpers import assert_refused
from ..oidc_provider import OPAQUE_CLIENT, OidcProvider
from .conftest import RESOURCE, bearer, oauth_app
from .dpop_support import WHOAMI, send

pytestmark = pytest.mark.e2e


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
