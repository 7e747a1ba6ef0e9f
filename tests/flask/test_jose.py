"""Strict compact-JWS parsing: one spelling and one meaning per token, or a refusal."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from flask_otcauth.core.jose import check_compact_jws
from flask_otcauth.core.refusals import AuthFailure

from ..forge import forge, raw_claims, valid_claims
from ..helpers import bearer

HS256 = ("HS256",)


def refusal_hint(token: str, *, allow_kid: bool = False) -> str:
    with pytest.raises(AuthFailure) as raised:
        check_compact_jws(token, algorithms=HS256, allow_kid=allow_kid)
    failure = raised.value
    assert (failure.status, failure.code, failure.method) == (401, "invalid_token", "jwt")
    return failure.developer_message


def test_a_well_formed_token_yields_its_header_and_claims() -> None:
    claims = valid_claims(aud=["a", "b"], jti="j-1", iat=1.5)
    header, parsed = check_compact_jws(forge(claims=claims), algorithms=HS256)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert parsed == claims


def test_typ_may_be_absent() -> None:
    assert check_compact_jws(forge({"alg": "HS256"}), algorithms=HS256)[0] == {"alg": "HS256"}


@pytest.mark.parametrize("shape", [
    "{token}=", "{token}==", "{header}.{claims}", "{header}.{claims}.", ".{claims}.{sig}",
    "{header}..{sig}", "{header}.{claims}.{sig}.{sig}", "{header}.{claims}.{sig}.{sig}.{sig}",
    "{header}.{claims}.{sig}+", "{header}.{claims}.{sig}/", "{header}.{claims}.{sig}~",
    "{header}=.{claims}.{sig}",
])
def test_anything_but_three_unpadded_base64url_segments_is_refused(shape: str) -> None:
    token = forge()
    header, claims, sig = token.split(".")
    sent = shape.format(token=token, header=header, claims=claims, sig=sig)
    hint = refusal_hint(sent)
    assert hint.startswith(f"Not a JWT: received {len(sent)} characters in "), hint
    assert all(part not in hint for part in (header, claims, sig)), "it echoes the token"


def test_non_canonical_base64_spelling_of_a_signature_is_refused() -> None:
    token = forge()
    # 32 bytes take 43 characters; the last carries 2 unused bits. Setting one gives a second
    # string that decodes to the same signature.
    head, _, sig = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    assert "canonical" in refusal_hint(f"{head}.{twin}")


def test_impossible_base64_length_is_refused() -> None:
    header, claims, _ = forge().split(".")
    assert "base64url" in refusal_hint(f"{header}.{claims}.A")


@pytest.mark.parametrize("header", [
    '{"alg":"HS256","alg":"none"}',
    '{"alg":"HS256","typ":"JWT","typ":"JWT"}',
])
def test_duplicate_header_member_is_refused(header: str) -> None:
    assert "twice" in refusal_hint(forge(header))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_header_in_another_encoding_than_utf8_is_refused(encoding: str) -> None:
    header = '{"alg":"HS256","typ":"JWT"}'.encode(encoding)
    assert "UTF-8 JSON object" in refusal_hint(forge(header))


@pytest.mark.parametrize("header", ['["HS256"]', '"HS256"', "null", "{", b"\xff\xfe", "{}"])
def test_header_that_is_no_json_object_with_alg_is_refused(header: Any) -> None:
    refusal_hint(forge(header))


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "hs256", "HS384", "HS512",
                                 "RS256", "ES256", "PS256", "EdDSA", "", None, 256, ["HS256"]])
def test_alg_other_than_hs256_is_refused(alg: Any) -> None:
    assert "HS256" in refusal_hint(forge({"alg": alg, "typ": "JWT"}))


@pytest.mark.parametrize("typ", ["jwt", "JOSE", "at+jwt", "", None, 1])
def test_typ_other_than_jwt_is_refused(typ: Any) -> None:
    assert "typ" in refusal_hint(forge({"alg": "HS256", "typ": typ}))


@pytest.mark.parametrize("parameter", ["jku", "x5u", "jwk", "x5c", "x5t", "cty", "enc", "zip",
                                       "b64", "kid", "x-custom"])
def test_header_parameter_we_do_not_use_is_refused(parameter: str) -> None:
    hint = refusal_hint(forge({"alg": "HS256", parameter: "value"}))
    assert "may only carry alg, typ" in hint
    assert "value" not in hint


def test_kid_is_accepted_where_key_ids_are_configured() -> None:
    header, _ = check_compact_jws(forge({"alg": "HS256", "kid": "k1"}), algorithms=HS256,
                                  allow_kid=True)
    assert header["kid"] == "k1"
    assert "kid" in refusal_hint(forge({"alg": "HS256", "kid": 7}), allow_kid=True)


def test_crit_is_refused() -> None:
    assert "crit" in refusal_hint(forge({"alg": "HS256", "crit": ["exp"]}))


def test_oversized_header_is_refused() -> None:
    assert "the first longer than the 512 a JWS header may be" in refusal_hint(
        forge({"alg": "HS256", "typ": "J" * 600}))


@pytest.mark.parametrize("members", ['"sub":"client-a","sub":"admin"',
                                     '"aud":"x","aud":"y"', '"exp":1'])
def test_duplicate_claim_is_refused(members: str) -> None:
    assert "twice" in refusal_hint(forge(claims=raw_claims(members)))


def test_duplicate_inside_a_nested_claim_is_refused() -> None:
    assert "twice" in refusal_hint(forge(claims=raw_claims('"ctx":{"a":1,"a":2}')))


@pytest.mark.parametrize("claims", [b'{"exp":1}'.decode().encode("utf-16"), b"\xef\xbb\xbf{}",
                                    "[]", '"sub"', "1", "{", '{"exp":NaN}', '{"exp":Infinity}',
                                    '{"exp":-Infinity}', "[" * 5000 + "]" * 5000,
                                    '{"exp":' + "9" * 5000 + "}"])
def test_claims_that_are_no_strict_json_object_are_refused(claims: Any) -> None:
    refusal_hint(forge(claims=claims))


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["1900000000", True, False, None, [1900000000], {"t": 1}])
def test_numeric_date_of_another_type_is_refused(name: str, value: Any) -> None:
    assert name in refusal_hint(forge(claims={**valid_claims(), name: value}))


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_numeric_date_overflowing_to_infinity_is_refused(name: str) -> None:
    assert name in refusal_hint(forge(claims=f'{{"sub":"a","{name}":1e400}}'))


@pytest.mark.parametrize("name", ["sub", "iss", "jti"])
@pytest.mark.parametrize("value", [7, 1.5, True, None, ["admin"], {"id": "admin"}])
def test_string_claim_of_another_type_is_refused(name: str, value: Any) -> None:
    assert name in refusal_hint(forge(claims=valid_claims(**{name: value})))


@pytest.mark.parametrize("value", [7, None, True, {"a": "b"}, ["a", 7], ["a", None], [["a"]]])
def test_aud_other_than_string_or_list_of_strings_is_refused(value: Any) -> None:
    assert "aud" in refusal_hint(forge(claims=valid_claims(aud=value)))


def test_claims_check_does_not_need_the_key() -> None:
    """Shape is checked before any signature: a refusal says nothing about the key."""
    token = forge(claims=raw_claims('"sub":"a","sub":"b"'), key="not-the-server-key" * 3)
    assert "twice" in refusal_hint(token)


def test_non_ascii_claims_are_read_as_utf8() -> None:
    _, parsed = check_compact_jws(forge(claims=valid_claims(sub="ünïcode-client")),
                                  algorithms=HS256)
    assert parsed["sub"] == "ünïcode-client"


def test_through_http_a_forged_valid_token_is_accepted(client: FlaskClient) -> None:
    response = client.get("/tools", headers=bearer(forge()))
    assert response.status_code == 200
    assert response.json == {"method": "jwt", "subject": "client-a", "client": None}


@pytest.mark.parametrize("token", [
    forge(claims=raw_claims('"sub":"client-a","sub":"admin"')),
    forge() + "=",
    forge('{"alg":"HS256","typ":"JWT"}'.encode("utf-16")),
    forge(claims=valid_claims(exp=str(int(time.time()) + 60))),
    forge({"alg": "HS256", "jku": "https://attacker.example/jwks.json"}),
])
def test_through_http_what_pyjwt_would_accept_is_401(client: FlaskClient, token: str) -> None:
    response = client.get("/tools", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"
