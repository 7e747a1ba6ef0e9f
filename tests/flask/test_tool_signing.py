"""The server side of signed tool definitions: the key, the key set, the signatures.

RFC 7515 (JWS) appendix F and RFC 7797 (unencoded payload) for the signatures, RFC 7517 for
the key set and RFC 7638 for the ``kid``; ``init_app`` refuses every key it cannot sign with.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import Flask

from flask_otcauth import OTCAuth, OTCAuthConfigError
from flask_otcauth.client import CanonicalizationError, canonicalize
from flask_otcauth.client.jwk import jwk_thumbprint

from ..conftest import base_config
from ..tool_server import ADD, tool_server

KEYS_PATH = "/.well-known/otc-tool-keys.json"


def _pem(key: Any, path: Path, password: bytes | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption))
    return str(path)


def _public_pem(key: Any, path: Path) -> str:
    path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


def _init(**overrides: Any) -> tuple[Flask, OTCAuth]:
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_TOOL_SIGNING=True, **overrides))
    return app, OTCAuth(app)


def _header(signature: str) -> dict[str, Any]:
    protected = signature.partition(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(
        protected + "=" * (-len(protected) % 4)))
    return header


def test_the_key_set_is_served_without_credentials_and_cacheable() -> None:
    """RFC 7517 section 5: a JWK Set, open to verifiers, with Cache-Control."""
    server = tool_server(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_PROTECT_ALL=True)

    response = server.app.test_client().get(KEYS_PATH)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert [key["kty"] for key in response.get_json()["keys"]] == ["OKP"]


def test_the_key_set_holds_no_private_member() -> None:
    """RFC 7517 section 5: only public keys are published ("d" is the private part)."""
    (key,) = tool_server().keys()["keys"]

    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}


def test_the_kid_is_the_rfc_7638_thumbprint_of_the_key() -> None:
    """RFC 7638 section 3: kid = base64url(SHA-256(required members, JCS))."""
    (key,) = tool_server().keys()["keys"]

    assert key["kid"] == jwk_thumbprint(key)


def test_the_protected_header_is_b64_false_critical_with_kid_and_iat() -> None:
    """RFC 7797 section 3: b64 false is listed in crit; kid and iat are protected too."""
    server = tool_server()
    signature = server.listing()["signatures"]["Math.Add@1.0.0"]

    header = _header(signature)

    assert {name: header[name] for name in ("alg", "b64", "crit", "typ")} == {
        "alg": "EdDSA", "b64": False, "crit": ["b64"], "typ": "otc-tool-definition+jws"}
    assert header["kid"] == server.keys()["keys"][0]["kid"]
    assert isinstance(header["iat"], int)


def test_the_signature_is_detached_and_verifies_over_the_canonical_bytes() -> None:
    """RFC 7515 appendix F: <protected>..<signature>; the payload is the RFC 8785 form."""
    server = tool_server()
    signature = server.listing()["signatures"]["Math.Add@1.0.0"]
    key = jwt.PyJWK(server.keys()["keys"][0])

    assert signature.split(".")[1] == ""
    jwt.api_jws.PyJWS().decode_complete(signature, key.key, algorithms=["EdDSA"],
                                        detached_payload=canonicalize(ADD))


def test_a_definition_is_signed_once_and_its_signature_reused() -> None:
    """Signing is cached by the canonical bytes: a second listing carries the same JWS."""
    server = tool_server()

    assert server.listing()["signatures"] == server.listing()["signatures"]


def test_a_changed_definition_is_signed_afresh() -> None:
    server = tool_server()
    before = server.listing()["signatures"]["Math.Add@1.0.0"]
    server.replace("Math.Add@1.0.0", description="Adds.")

    assert server.listing()["signatures"]["Math.Add@1.0.0"] != before


def test_an_ed25519_key_file_signs_eddsa(tmp_path: Path) -> None:
    """RFC 8037 section 3.1: an Ed25519 key signs EdDSA."""
    key = ed25519.Ed25519PrivateKey.generate()
    server = tool_server(OTC_AUTH_TOOL_SIGNING_KEY_FILE=_pem(key, tmp_path / "k.pem"))

    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)

    assert server.keys()["keys"][0]["x"] == base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert _header(server.listing()["signatures"]["Math.Add@1.0.0"])["alg"] == "EdDSA"


def test_a_p256_key_file_signs_es256(tmp_path: Path) -> None:
    """RFC 7518 section 3.4: a P-256 key signs ES256."""
    key = ec.generate_private_key(ec.SECP256R1())
    server = tool_server(OTC_AUTH_TOOL_SIGNING_KEY_FILE=_pem(key, tmp_path / "k.pem"))

    assert _header(server.listing()["signatures"]["Math.Add@1.0.0"])["alg"] == "ES256"
    assert server.keys()["keys"][0]["crv"] == "P-256"


def test_a_published_earlier_key_follows_the_current_one(tmp_path: Path) -> None:
    """RFC 7517 section 5: the set lists the current key first, then the rotated-out one."""
    old = ed25519.Ed25519PrivateKey.generate()
    server = tool_server(OTC_AUTH_TOOL_SIGNING_PUBLISHED_KEY_FILES=[
        _public_pem(old, tmp_path / "old.pub.pem")])

    keys = server.keys()["keys"]

    assert len(keys) == 2
    assert keys[0]["kid"] == _header(server.listing()["signatures"]["Math.Add@1.0.0"])["kid"]


def test_signing_without_a_key_file_outside_development_is_refused_with_the_fix() -> None:
    app = Flask(__name__)
    app.config.update(base_config(TESTING=False, OTC_AUTH_TOOL_SIGNING=True))

    with pytest.raises(OTCAuthConfigError, match=r"OTC_AUTH_TOOL_SIGNING_KEY_FILE.*openssl "
                       r"genpkey -algorithm ed25519"):
        OTCAuth(app)


def test_an_rsa_key_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = _pem(rsa.generate_private_key(65537, 2048), tmp_path / "rsa.pem")

    with pytest.raises(OTCAuthConfigError, match=r"OTC_AUTH_TOOL_SIGNING_KEY_FILE.*Ed25519"):
        _init(OTC_AUTH_TOOL_SIGNING_KEY_FILE=path)


def test_a_p384_key_file_is_refused(tmp_path: Path) -> None:
    path = _pem(ec.generate_private_key(ec.SECP384R1()), tmp_path / "p384.pem")

    with pytest.raises(OTCAuthConfigError, match="P-256"):
        _init(OTC_AUTH_TOOL_SIGNING_KEY_FILE=path)


def test_an_encrypted_key_file_is_refused(tmp_path: Path) -> None:
    path = _pem(ed25519.Ed25519PrivateKey.generate(), tmp_path / "k.pem", b"passphrase")

    with pytest.raises(OTCAuthConfigError, match="encrypted"):
        _init(OTC_AUTH_TOOL_SIGNING_KEY_FILE=path)


def test_a_missing_key_file_is_refused_naming_its_path(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.pem")

    with pytest.raises(OTCAuthConfigError, match=r"absent\.pem cannot be read"):
        _init(OTC_AUTH_TOOL_SIGNING_KEY_FILE=path)


def test_a_key_file_that_is_no_pem_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_text("not-a-key-but-maybe-a-secret-0123456789")

    with pytest.raises(OTCAuthConfigError, match="no PEM private key") as refused:
        _init(OTC_AUTH_TOOL_SIGNING_KEY_FILE=str(path))

    assert "maybe-a-secret" not in str(refused.value)


def test_a_private_key_among_the_published_keys_is_refused(tmp_path: Path) -> None:
    """Only public halves are published: a private key there is a leak waiting to happen."""
    path = _pem(ed25519.Ed25519PrivateKey.generate(), tmp_path / "old.pem")

    with pytest.raises(OTCAuthConfigError, match=r"PUBLISHED_KEY_FILES.*private key"):
        _init(OTC_AUTH_TOOL_SIGNING_PUBLISHED_KEY_FILES=[path])


def test_without_signing_no_key_set_is_served() -> None:
    app = Flask(__name__)
    app.config.update(base_config())
    OTCAuth(app)

    assert app.test_client().get(KEYS_PATH).status_code == 404


def test_signing_while_it_is_off_says_how_to_turn_it_on() -> None:
    app = Flask(__name__)
    app.config.update(base_config())
    auth = OTCAuth(app)

    with app.app_context(), pytest.raises(RuntimeError, match="OTC_AUTH_TOOL_SIGNING"):
        auth.sign_tool_definitions([ADD])


def test_definitions_sharing_an_id_are_refused() -> None:
    server = tool_server()

    with server.app.app_context(), pytest.raises(ValueError, match=r"Math\.Add@1\.0\.0"):
        server.auth.sign_tool_definitions([ADD, {**ADD, "description": "Other."}])


def test_a_definition_json_cannot_hold_is_refused_not_signed() -> None:
    """RFC 8785 appendix B note 3: NaN has no canonical form, so nothing is signed for it."""
    server = tool_server()

    with server.app.app_context(), pytest.raises(CanonicalizationError, match="nan"):
        server.auth.sign_tool_definitions([{**ADD, "output_schema": {"maximum": float("nan")}}])


def test_check_names_the_key_file_and_the_kid(tmp_path: Path) -> None:
    path = _pem(ed25519.Ed25519PrivateKey.generate(), tmp_path / "k.pem")
    server = tool_server(OTC_AUTH_TOOL_SIGNING_KEY_FILE=path)

    output = server.app.test_cli_runner().invoke(args=["otcauth", "check"]).output

    assert f"tool signing: EdDSA, kid {server.keys()['keys'][0]['kid']}, key {path}" in output
    assert "OTC_AUTH_TOOL_SIGNING_KEY_FILE is unset" not in output


def test_check_warns_that_a_generated_key_changes_at_every_restart() -> None:
    output = tool_server().app.test_cli_runner().invoke(args=["otcauth", "check"]).output

    assert "warning: OTC_AUTH_TOOL_SIGNING_KEY_FILE is unset" in output
