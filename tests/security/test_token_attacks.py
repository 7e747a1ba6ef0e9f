"""Attacks on the bearer token: one test per attack, each refused with a 401 that says nothing.

Tokens are forged by hand (``tests/forge.py``) and signed with the server's real secret where
the attack needs a valid signature, so what is refused is the attack and not a bad signature.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from ..forge import EC_PUBLIC_PEM, RSA_PUBLIC_PEM, b64url, forge, raw_claims, valid_claims
from ..helpers import AUDIENCE, assert_refused, bearer
from .support import API_KEY_CHALLENGE

INVALID_TOKEN = 'Bearer realm="otc", error="invalid_token"'


def refused(client: FlaskClient, token: str) -> dict[str, Any]:
    response = client.get("/tools", headers=bearer(token))
    return assert_refused(response, 401, "invalid_token", presented=token,
                          challenge_prefixes=(INVALID_TOKEN, API_KEY_CHALLENGE))


def accepted(client: FlaskClient, token: str) -> dict[str, Any]:
    response = client.get("/tools", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.fixture
def no_outbound_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Records (and blocks) every attempt to open a network connection or fetch a URL."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("outbound connection attempted during an attack test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    yield attempts


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> int:
    """The clock the verifier reads (``time.time``), frozen at a whole second: a boundary one
    second away is exactly one second away, however long the request takes."""
    frozen = int(time.time())
    monkeypatch.setattr(time, "time", lambda: float(frozen))
    return frozen


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", "c2ln"])
def test_alg_none_and_its_case_variants(client: FlaskClient, alg: str, signature: str) -> None:
    head = forge({"alg": alg, "typ": "JWT"}).rpartition(".")[0]
    refused(client, f"{head}.{signature}")


def test_empty_signature(client: FlaskClient) -> None:
    refused(client, forge().rpartition(".")[0] + ".")


def test_broken_signature(client: FlaskClient) -> None:
    head, _, signature = forge().rpartition(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    refused(client, f"{head}.{flipped}")


def test_truncated_signature(client: FlaskClient) -> None:
    refused(client, forge()[:-4])


def test_signature_of_another_token(client: FlaskClient) -> None:
    other_signature = forge(claims=valid_claims(sub="client-b")).rpartition(".")[2]
    refused(client, forge(claims=valid_claims(sub="admin")).rpartition(".")[0]
            + "." + other_signature)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_with_the_real_secret(client: FlaskClient, alg: str) -> None:
    body = refused(client, forge({"alg": alg, "typ": "JWT"}, algorithm=alg))
    assert "HS256" in body["developer_message"]


@pytest.mark.parametrize("alg", ["RS256", "HS256"])
def test_rsa_public_key_used_as_hmac_secret(client: FlaskClient, alg: str) -> None:
    refused(client, forge({"alg": alg, "typ": "JWT"}, key=RSA_PUBLIC_PEM))


@pytest.mark.parametrize("alg", ["ES256", "HS256"])
def test_ec_public_key_used_as_hmac_secret(client: FlaskClient, alg: str) -> None:
    refused(client, forge({"alg": alg, "typ": "JWT"}, key=EC_PUBLIC_PEM))


def test_embedded_jwk(client: FlaskClient) -> None:
    jwk = {"kty": "oct", "k": b64url(b"attacker-chosen-secret-of-32-bytes!")}
    refused(client, forge({"alg": "HS256", "jwk": jwk}, key="attacker-chosen-secret-of-32-bytes!"))


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
def test_remote_key_url_makes_no_outbound_request(
    client: FlaskClient, no_outbound_connections: list[object], parameter: str
) -> None:
    url = "https://attacker.example/keys.json"
    refused(client, forge({"alg": "HS256", parameter: url}))
    assert no_outbound_connections == []


def test_x5c_certificate_chain(client: FlaskClient) -> None:
    refused(client, forge({"alg": "HS256", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC"]}))


@pytest.mark.parametrize("kid", ["../../../../dev/null", "' OR '1'='1", "key-1", ""])
def test_kid_injection(client: FlaskClient, kid: str) -> None:
    refused(client, forge({"alg": "HS256", "kid": kid}))


def test_crit_header(client: FlaskClient) -> None:
    body = refused(client, forge({"alg": "HS256", "crit": ["exp"], "exp": 1}))
    assert "crit" in body["developer_message"]


def test_unknown_typ(client: FlaskClient) -> None:
    refused(client, forge({"alg": "HS256", "typ": "at+jwt"}))


def test_nested_jwt(client: FlaskClient) -> None:
    inner = forge()
    refused(client, forge({"alg": "HS256", "cty": "JWT"}, claims=f'"{inner}"'))


def test_jwe_shaped_token(client: FlaskClient) -> None:
    header = b64url(b'{"alg":"dir","enc":"A256GCM"}')
    refused(client, f"{header}..{b64url(b'iv' * 6)}.{b64url(b'ciphertext')}.{b64url(b'tag' * 5)}")


def test_duplicate_sub_claim(client: FlaskClient) -> None:
    body = refused(client, forge(claims=raw_claims('"sub":"client-a","sub":"admin"')))
    assert "twice" in body["developer_message"]


def test_duplicate_alg_header(client: FlaskClient) -> None:
    refused(client, forge('{"alg":"HS256","alg":"none"}'))


def test_utf16_header(client: FlaskClient) -> None:
    refused(client, forge('{"alg":"HS256","typ":"JWT"}'.encode("utf-16")))


def test_utf16_claims(client: FlaskClient) -> None:
    refused(client, forge(claims=raw_claims('"sub":"a"').encode("utf-16")))


def test_padded_token(client: FlaskClient) -> None:
    refused(client, forge() + "=")


def test_non_canonical_base64_signature(client: FlaskClient) -> None:
    head, _, signature = forge().rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    refused(client, f"{head}.{twin}")


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_numeric_date_as_digit_string(client: FlaskClient, name: str) -> None:
    refused(client, forge(claims={**valid_claims(), name: str(int(time.time()))}))


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_numeric_date_as_boolean(client: FlaskClient, name: str) -> None:
    refused(client, forge(claims={**valid_claims(), name: True}))


def test_numeric_date_as_infinity(client: FlaskClient) -> None:
    refused(client, forge(claims='{"sub":"a","exp":1e400}'))


@pytest.mark.parametrize("name", ["sub", "iss", "jti"])
@pytest.mark.parametrize("value", [7, ["admin"], {"id": "admin"}, None])
def test_string_claim_of_another_type(client: FlaskClient, name: str, value: Any) -> None:
    refused(client, forge(claims=valid_claims(**{name: value})))


@pytest.mark.parametrize("value", [7, {"aud": AUDIENCE}, [AUDIENCE, 7], [[AUDIENCE]]])
def test_aud_of_another_type(client: FlaskClient, value: Any) -> None:
    refused(client, forge(claims=valid_claims(aud=value)))


def test_missing_exp(client: FlaskClient) -> None:
    refused(client, forge(claims={"sub": "client-a"}))


def test_expired_one_second_ago(client: FlaskClient, now: int) -> None:
    body = refused(client, forge(claims=valid_claims(exp=now - 1)))
    assert "expired" in body["developer_message"]


def test_expiring_this_very_second_is_refused(client: FlaskClient, now: int) -> None:
    """RFC 7519: the current time must be before exp."""
    body = refused(client, forge(claims=valid_claims(exp=now)))
    assert "expired" in body["developer_message"]


def test_expiring_in_one_second_is_still_accepted(client: FlaskClient, now: int) -> None:
    accepted(client, forge(claims=valid_claims(exp=now + 1)))


def test_not_valid_for_one_second_beyond_the_clock_skew(client: FlaskClient, now: int) -> None:
    """OTC_AUTH_JWT_CLOCK_SKEW (60 s) is how far ahead nbf may be: a second more is refused."""
    body = refused(client, forge(claims=valid_claims(nbf=now + 61)))
    assert "nbf is 61 s ahead" in body["developer_message"]


def test_not_valid_until_the_edge_of_the_clock_skew_is_accepted(
    client: FlaskClient, now: int
) -> None:
    accepted(client, forge(claims=valid_claims(nbf=now + 60)))


def test_valid_since_one_second_is_accepted(client: FlaskClient, now: int) -> None:
    accepted(client, forge(claims=valid_claims(nbf=now - 1)))


def test_issued_one_second_beyond_the_clock_skew(client: FlaskClient, now: int) -> None:
    body = refused(client, forge(claims=valid_claims(iat=now + 61, exp=now + 961)))
    assert "iat is 61 s ahead" in body["developer_message"]


def test_issued_at_the_edge_of_the_clock_skew_is_accepted(client: FlaskClient, now: int) -> None:
    """A platform clock 60 s fast: iat = its now, exp = its now + 900, both ahead of ours."""
    accepted(client, forge(claims=valid_claims(iat=now + 60, exp=now + 960)))


def test_issued_one_second_ago_is_accepted(client: FlaskClient, now: int) -> None:
    accepted(client, forge(claims=valid_claims(iat=now - 1)))


def test_lifetime_one_second_over_the_maximum(client: FlaskClient, now: int) -> None:
    """With iat, the lifetime is exp - iat, whatever the clocks say."""
    body = refused(client, forge(claims=valid_claims(iat=now, exp=now + 901)))
    assert "(exp - iat) is 901 s" in body["developer_message"]


def test_lifetime_at_the_maximum_is_accepted(client: FlaskClient, now: int) -> None:
    accepted(client, forge(claims=valid_claims(iat=now, exp=now + 900)))


def test_exp_without_iat_one_second_over_the_maximum_and_the_skew(
    client: FlaskClient, now: int
) -> None:
    """Without iat, exp may be 900 s (the cap) plus 60 s (the stated skew) ahead: no more."""
    body = refused(client, forge(claims=valid_claims(exp=now + 961)))
    assert "more than 900 s ahead (plus 60 s of clock skew)" in body["developer_message"]


def test_exp_without_iat_at_the_maximum_and_the_skew_is_accepted(
    client: FlaskClient, now: int
) -> None:
    accepted(client, forge(claims=valid_claims(exp=now + 960)))


def test_foreign_audience(client: FlaskClient) -> None:
    refused(client, forge(claims=valid_claims(aud="another-server")))


def test_mixed_audiences_without_an_allowed_client(client: FlaskClient) -> None:
    refused(client, forge(claims=valid_claims(aud=["another-server", "OTC-CLIENT", ""])))


def test_mixed_audiences_with_an_allowed_client_are_accepted(client: FlaskClient) -> None:
    """RFC 7519: one allowed value suffices; the matched client becomes identity.client."""
    body = accepted(client, forge(claims=valid_claims(aud=["another-server", AUDIENCE])))
    assert body["client"] == AUDIENCE


def test_wrong_secret(client: FlaskClient) -> None:
    refused(client, forge(key="a-secret-the-server-never-had-0123456789"))


def test_oversized_token(client: FlaskClient) -> None:
    body = refused(client, forge(claims=valid_claims(padding="p" * 9000)))
    assert "8192" in body["developer_message"]
