"""The oauth key client's parsing and signature checks against the RFCs' own vectors."""

from __future__ import annotations

import base64
import logging

import jwt
import pytest

from flask_otcauth.core.jwks import FetchError, KeySet, parse_key_set

# RFC 7515 Appendix A.2 (RS256) and A.3 (ES256): the payload both sign.
PAYLOAD = ("eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290"
           "Ijp0cnVlfQ")
RFC7515_A2_JWK = {
    "kty": "RSA", "e": "AQAB",
    "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1"
         "Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaS"
         "HSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT"
         "6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}
RFC7515_A2_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9." + PAYLOAD + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3X"
    "OiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZ"
    "LgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOk"
    "HWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0ig"
    "cN_IoypGlUPQGe77Rw")
RFC7515_A3_JWK = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                  "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
RFC7515_A3_TOKEN = ("eyJhbGciOiJFUzI1NiJ9." + PAYLOAD + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4Gaw"
                    "xaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
# RFC 8037 Appendix A.2 (the public key) and A.4 (the signature of "Example of Ed25519 signing").
RFC8037_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_A4_JWS = ("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0Jzln"
                  "LWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
# RFC 7517 Appendix A.1: an EC key for encryption and an RSA key for RS256.
RFC7517_A1_SET = {"keys": [
    {"kty": "EC", "crv": "P-256", "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
     "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM", "use": "enc", "kid": "1"},
    {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
          "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ"
          "R0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bF"
          "TWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
]}


def _verifies(keys: KeySet, alg: str, token: str) -> bool:
    signing_input, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return bool(jwt.get_algorithm_by_name(alg).verify(signing_input.encode(),
                                                      keys.usable[0].jwk.key, raw))


def test_rfc_7515_a2_rs256_verifies_with_its_key() -> None:
    keys = parse_key_set({"keys": [RFC7515_A2_JWK]}, "RFC 7515 A.2")

    assert (keys.usable[0].kty, keys.skipped) == ("RSA", 0)
    assert _verifies(keys, "RS256", RFC7515_A2_TOKEN)


def test_rfc_7515_a2_with_a_changed_payload_does_not_verify() -> None:
    keys = parse_key_set({"keys": [RFC7515_A2_JWK]}, "RFC 7515 A.2")
    header, payload, signature = RFC7515_A2_TOKEN.split(".")

    forged = payload.replace("Jqb2Ui", "JldmUi")  # iss "joe" becomes "eve"

    assert not _verifies(keys, "RS256", f"{header}.{forged}.{signature}")


def test_rfc_7515_a3_es256_verifies_with_its_key() -> None:
    keys = parse_key_set({"keys": [RFC7515_A3_JWK]}, "RFC 7515 A.3")

    assert (keys.usable[0].kty, keys.usable[0].crv) == ("EC", "P-256")
    assert _verifies(keys, "ES256", RFC7515_A3_TOKEN)


def test_rfc_8037_a4_ed25519_verifies_with_its_key() -> None:
    keys = parse_key_set({"keys": [RFC8037_JWK]}, "RFC 8037 A.2")

    assert (keys.usable[0].kty, keys.usable[0].crv) == ("OKP", "Ed25519")
    assert _verifies(keys, "EdDSA", RFC8037_A4_JWS)


def test_rfc_7517_a1_public_set_keeps_the_signing_key_and_skips_the_encryption_key() -> None:
    keys = parse_key_set(RFC7517_A1_SET, "RFC 7517 A.1")

    assert list(keys.by_kid) == ["2011-04-29"]
    assert (keys.by_kid["2011-04-29"].alg, keys.skipped) == ("RS256", 1)


def test_rfc_7517_a2_private_set_is_refused_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    """RFC 7517 Appendix A.2: the same keys with their private members (here the EC key's d)."""
    private = {"keys": [{**RFC7517_A1_SET["keys"][0],
                         "d": "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"},
                        RFC7517_A1_SET["keys"][1]]}

    with caplog.at_level(logging.WARNING, logger="flask_otcauth"), pytest.raises(FetchError):
        parse_key_set(private, "RFC 7517 A.2")

    assert "private or symmetric key material" in caplog.text
    assert "870MB6" not in caplog.text


def test_rfc_7517_a3_symmetric_set_is_refused() -> None:
    """RFC 7517 Appendix A.3: "oct" keys are secrets; a published one is a leak."""
    symmetric = {"keys": [{"kty": "oct", "alg": "A128KW", "k": "GawgguFyGrWKav7AX4VKUg"}]}

    with pytest.raises(FetchError):
        parse_key_set(symmetric, "RFC 7517 A.3")


def test_a_set_without_keys_is_refused() -> None:
    with pytest.raises(FetchError):
        parse_key_set({"keys": "none"}, "a document")
