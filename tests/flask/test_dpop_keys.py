"""DPoP for API keys and hmac clients registered with a key thumbprint (jkt): the credential is
only good with a proof of that key (RFC 9449 sections 4.3 and 7.2 applied to them), through
HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.client import DPoPKey
from flask_otcauth.core.keys import hash_key
from flask_otcauth.core.refusals import OTCAuthConfigError
from flask_otcauth.testing import credential_headers

from ..conftest import base_config, build_app
from ..helpers import API_KEY, OTHER_API_KEY, assert_refused
from .dpop_apps import BOUND_KEY_ID, URL, dpop_app, get, with_key, with_signature


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate("ES256")


def test_a_bound_api_key_with_its_proof_is_accepted(key: DPoPKey) -> None:
    """RFC 9449 section 4.3: a key record's jkt names the proof's key; ath is the key's hash."""
    response = with_key(dpop_app(key), API_KEY, key.proof("GET", URL, access_token=API_KEY))
    assert response.status_code == 200, response.json
    assert response.json == {"method": "api_key", "subject": BOUND_KEY_ID, "client": None}


def test_a_bound_api_key_without_a_proof_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: a bound credential presented without a proof is refused."""
    response = with_key(dpop_app(key), API_KEY, None)
    assert_refused(response, 401, "invalid_dpop_proof", hint="bound to a DPoP key (jkt)")


def test_a_bound_api_key_is_refused_with_dpop_off(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: the binding holds with DPoP off too (nothing could check it)."""
    response = with_key(dpop_app(key, dpop="off"), API_KEY, None)
    assert_refused(response, 401, "invalid_dpop_proof", hint="bound to a DPoP key (jkt)")


def test_a_proof_of_another_key_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 6.1: the proof's thumbprint must equal the registered jkt."""
    thief = DPoPKey.generate("ES256")
    response = with_key(dpop_app(key), API_KEY, thief.proof("GET", URL, access_token=API_KEY))
    assert_refused(response, 401, "invalid_dpop_proof", hint="not the one the token is bound to")


def test_a_proof_made_for_another_api_key_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 11: ath is the hash of the credential it travels with."""
    proof = key.proof("GET", URL, access_token=OTHER_API_KEY)
    assert_refused(with_key(dpop_app(key), API_KEY, proof), 401, "invalid_dpop_proof",
                   hint="ath is not the hash")


def test_an_unbound_api_key_with_a_proof_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 6: a proof beside a key bound to nothing proves nothing."""
    proof = key.proof("GET", URL, access_token=OTHER_API_KEY)
    assert_refused(with_key(dpop_app(key), OTHER_API_KEY, proof), 401, "invalid_dpop_proof",
                   hint="bound to no DPoP key")


def test_an_unbound_api_key_without_a_proof_still_works_when_accepted(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: "accepted" leaves unbound keys as they were."""
    assert with_key(dpop_app(key), OTHER_API_KEY, None).status_code == 200


def test_required_refuses_an_api_key_without_a_proof(key: DPoPKey) -> None:
    """OTC_AUTH_DPOP "required": every key of a DPoP method needs its proof."""
    response = with_key(dpop_app(key, dpop="required"), OTHER_API_KEY, None)
    assert_refused(response, 401, "invalid_dpop_proof", hint="requires a DPoP proof")


def test_a_replayed_proof_with_a_bound_key_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 11.1: the proof's jti is spent in the shared replay store."""
    app, proof = dpop_app(key), key.proof("GET", URL, access_token=API_KEY)
    assert with_key(app, API_KEY, proof).status_code == 200
    assert_refused(with_key(app, API_KEY, proof), 401, "invalid_dpop_proof", hint="used before")


def test_a_loaders_record_with_jkt_binds_its_key(key: DPoPKey) -> None:
    """An api_key_loader's record may carry jkt like a configured one."""
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_API_KEYS=[],
                                  OTC_AUTH_DPOP="accepted", OTC_AUTH_DPOP_METHODS=["api_key"]))
    auth = OTCAuth()

    @auth.api_key_loader
    def load(digest: str) -> dict[str, Any] | None:
        if digest != hash_key(API_KEY):
            return None
        return {"id": "loaded", "hash": digest, "jkt": key.thumbprint}

    auth.init_app(app)
    app.add_url_rule("/tools", view_func=require_auth(lambda: {"ok": True}))
    assert_refused(with_key(app, API_KEY, None), 401, "invalid_dpop_proof")
    proof = key.proof("GET", URL, access_token=API_KEY)
    assert with_key(app, API_KEY, proof).status_code == 200


def test_a_jkt_that_is_no_thumbprint_refuses_to_start() -> None:
    """RFC 7638: a jkt is 43 base64url characters; anything else is named at init_app."""
    with pytest.raises(OTCAuthConfigError, match=r"\.jkt must be the DPoP key's RFC 7638"):
        build_app(OTC_AUTH_API_KEYS=[{"id": "x", "hash": hash_key(API_KEY), "jkt": "short"}])


def test_a_bound_hmac_client_with_a_proof_is_accepted(key: DPoPKey) -> None:
    """RFC 9449 section 4.3 beside RFC 9421: the client's jkt names the proof's key."""
    response = with_signature(dpop_app(key), key.proof("GET", URL))
    assert response.status_code == 200, response.json
    assert response.json is not None and response.json["method"] == "hmac"


def test_a_bound_hmac_client_without_a_proof_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 7.2: a signature of a bound client needs its proof."""
    assert_refused(with_signature(dpop_app(key), None), 401, "invalid_dpop_proof",
                   hint="bound to a DPoP key (jkt)")


def test_a_bound_hmac_client_with_another_keys_proof_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 6.1 for an hmac client: the thumbprint must be its jkt."""
    response = with_signature(dpop_app(key), DPoPKey.generate("EdDSA").proof("GET", URL))
    assert_refused(response, 401, "invalid_dpop_proof", hint="not the one the token is bound to")


def test_a_proof_for_another_method_with_an_hmac_client_is_refused(key: DPoPKey) -> None:
    """RFC 9449 section 4.3 step 8: htm is the request's method."""
    response = with_signature(dpop_app(key), key.proof("POST", URL))
    assert_refused(response, 401, "invalid_dpop_proof", hint="htm is not")


def test_the_plugin_makes_a_bound_keys_headers(key: DPoPKey) -> None:
    """The pytest plugin adds the proof for a bound key when given dpop_key=."""
    app = dpop_app(key)
    headers = credential_headers(app, "api_key", path="/tools", key=API_KEY, dpop_key=key)
    assert get(app, headers).status_code == 200


def test_check_describes_dpop_for_each_method_that_takes_proofs(key: DPoPKey) -> None:
    """RFC 9449 section 11.1: check says, per method, where seen proofs are kept, and that a
    bound key record is bound."""
    app = dpop_app(key, dpop_methods=("api_key", "hmac"))
    result = app.test_cli_runner().invoke(args=["otcauth", "check", "--workers", "2"])
    for method in ("api_key", "hmac"):
        assert (f"{method}: DPoP accepted (ES256, PS256, EdDSA; iat within 300 s; seen proofs "
                f"kept in memory://)") in result.output
        assert f"{method}: DPoP proofs are remembered per worker" in result.output
    assert "jwt: DPoP" not in result.output
    assert f"DPoP-bound (jkt {key.thumbprint[:8]}...)" in result.output
