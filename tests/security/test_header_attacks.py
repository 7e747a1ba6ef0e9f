"""Attacks through the shape of the credential headers: duplicates, size, bytes, spelling."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.core.keys import checksum

from ..conftest import base_config, identity_json
from ..forge import forge
from ..helpers import (
    API_KEY,
    HMAC_CLIENT,
    HMAC_SECRET,
    OTHER_API_KEY,
    assert_refused,
    bearer,
    iso,
    key_record,
    signed,
)
from .support import API_KEY_CHALLENGE, CREDENTIAL_CHALLENGES

INVALID_TOKEN = 'Bearer realm="otc", error="invalid_token"'
SIGNATURE_CHALLENGE = 'Signature realm="otc"'


def signing_client() -> FlaskClient:
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_METHODS=["hmac", "jwt", "api_key"],
                                  OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: HMAC_SECRET}))
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return identity_json()

    return app.test_client()


def test_two_authorization_headers(client: FlaskClient) -> None:
    token = forge()
    response = client.get("/tools", headers=[("Authorization", f"Bearer {token}"),
                                             ("Authorization", f"Bearer {forge()}")])
    assert_refused(response, 401, "invalid_token", hint="more than once", presented=token,
                   challenge_prefixes=(INVALID_TOKEN, API_KEY_CHALLENGE))


def test_two_api_key_headers(client: FlaskClient) -> None:
    response = client.get("/tools", headers=[("OTC-API-Key", API_KEY), ("OTC-API-Key", API_KEY)])
    assert_refused(response, 401, "invalid_api_key", presented=API_KEY,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_api_key_header_aliases_that_disagree(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"OTC-API-Key": API_KEY, "OXP-API-Key": OTHER_API_KEY})
    assert_refused(response, 401, "invalid_api_key", presented=API_KEY,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_valid_key_next_to_an_invalid_token(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"OTC-API-Key": API_KEY, **bearer("junk.junk.junk")})
    assert_refused(response, 401, "invalid_token", presented=API_KEY,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_two_signature_headers() -> None:
    headers = signed("GET", "/tools")
    doubled = [(name, value) for name, value in headers.items()] + [
        ("Signature", headers["Signature"].replace("sig1", "sig2"))]
    response = signing_client().get("/tools", headers=doubled)
    assert_refused(response, 401, "invalid_signature", presented=headers["Signature"],
                   challenge_prefixes=(SIGNATURE_CHALLENGE,))


@pytest.mark.parametrize("name", ["Signature-Input", "Signature"])
def test_oversized_signature_header(name: str) -> None:
    headers = {**signed("GET", "/tools")}
    headers[name] = headers[name] + ", " + "x=" + "a" * 5000
    response = signing_client().get("/tools", headers=headers)
    assert_refused(response, 401, "invalid_signature", challenge_prefixes=(SIGNATURE_CHALLENGE,))


def test_non_ascii_signature_header() -> None:
    headers = {**signed("GET", "/tools")}
    headers["Signature-Input"] = headers["Signature-Input"].replace(HMAC_CLIENT, "tööl-caller")
    response = signing_client().get("/tools", headers=headers)
    assert_refused(response, 401, "invalid_signature", challenge_prefixes=(SIGNATURE_CHALLENGE,))


def test_oversized_api_key(client: FlaskClient) -> None:
    key = "k" * 513
    body = assert_refused(client.get("/tools", headers={"OTC-API-Key": key}), 401,
                          "invalid_api_key", presented=key,
                          challenge_prefixes=CREDENTIAL_CHALLENGES)
    assert "512" not in body["developer_message"]  # every refused key gets one body


def test_oversized_authorization_header(client: FlaskClient) -> None:
    token = "a" * 8193
    assert_refused(client.get("/tools", headers=bearer(token)), 401, "invalid_token",
                   presented=token, challenge_prefixes=(INVALID_TOKEN,))


@pytest.mark.parametrize("key", [API_KEY[:-1] + "é", API_KEY[:-1] + "\x7f", API_KEY[:-1] + "\t",
                                 API_KEY[:20] + " " + API_KEY[20:], "\u00a0" + API_KEY])
def test_non_ascii_or_control_characters_in_an_api_key(client: FlaskClient, key: str) -> None:
    assert_refused(client.get("/tools", headers={"OTC-API-Key": key}), 401, "invalid_api_key",
                   presented=API_KEY, challenge_prefixes=CREDENTIAL_CHALLENGES)


@pytest.mark.parametrize("suffix", ["é", "\x00", "\x7f"])
def test_non_ascii_or_control_characters_in_a_token(client: FlaskClient, suffix: str) -> None:
    token = forge()
    assert_refused(client.get("/tools", headers=bearer(token + suffix)), 401, "invalid_token",
                   presented=token, challenge_prefixes=(INVALID_TOKEN,))


def test_empty_api_key(client: FlaskClient) -> None:
    assert_refused(client.get("/tools", headers={"OTC-API-Key": ""}), 401, "invalid_api_key",
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "bearer\x0b{token}", "Bearer\t{token}",
                                   " Bearer {token}", "Bearer{token}", "Bearer {token} x",
                                   "Bearer {token},", "Bearer {token}\t"])
def test_broken_bearer_spacing(client: FlaskClient, value: str) -> None:
    token = forge()
    response = client.get("/tools", headers={"Authorization": value.format(token=token)})
    assert_refused(response, 401, "invalid_token", presented=token,
                   challenge_prefixes=(INVALID_TOKEN, API_KEY_CHALLENGE))


@pytest.mark.parametrize("value", ["bearer\x0b{token}", "Bearer\t{token}", " Bearer {token}",
                                   "Bearer{token}"])
def test_broken_bearer_spacing_on_an_optional_view(client: FlaskClient, value: str) -> None:
    """A misspelt bearer token is refused, not ignored: an optional view would otherwise let
    its sender in as an anonymous caller."""
    token = forge()
    response = client.get("/optional", headers={"Authorization": value.format(token=token)})
    assert_refused(response, 401, "invalid_token", presented=token,
                   challenge_prefixes=(INVALID_TOKEN, API_KEY_CHALLENGE))


@pytest.mark.parametrize("value", ["bearer {token}", "BEARER {token}", "bEaReR {token}",
                                   "Bearer  {token}", "Bearer     {token}"])
def test_bearer_in_any_case_with_one_or_more_spaces_is_accepted(client: FlaskClient,
                                                                value: str) -> None:
    """RFC 6750: "Bearer" 1*SP b64token, the scheme name case-insensitive (spec decision 6)."""
    response = client.get("/tools", headers={"Authorization": value.format(token=forge())})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"method": "jwt", "subject": "client-a", "client": None}


@pytest.mark.parametrize("scheme", ["Token", "JWT", "Basic", "Digest", "OTC-API-Key", "ApiKey"])
def test_other_authorization_schemes(client: FlaskClient, scheme: str) -> None:
    token = forge()
    response = client.get("/tools", headers={"Authorization": f"{scheme} {token}"})
    assert_refused(response, 401, "missing_credentials", presented=token,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_api_key_in_the_authorization_header(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"Authorization": f"Bearer {API_KEY}"})
    assert_refused(response, 401, "invalid_token", presented=API_KEY,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


@pytest.mark.parametrize("parameter", ["access_token", "token", "jwt", "api_key"])
def test_token_in_the_query_string(client: FlaskClient, parameter: str) -> None:
    token = forge()
    response = client.get("/tools", query_string={parameter: token})
    assert_refused(response, 401, "missing_credentials", presented=token,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_api_key_in_the_query_string(client: FlaskClient) -> None:
    response = client.get("/tools", query_string={"OTC-API-Key": API_KEY})
    assert_refused(response, 401, "missing_credentials", presented=API_KEY,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_token_in_a_form_body(client: FlaskClient) -> None:
    token = forge()
    response = client.get("/tools", data={"access_token": token})
    assert_refused(response, 401, "missing_credentials", presented=token,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


def test_token_in_a_cookie(client: FlaskClient) -> None:
    token = forge()
    client.set_cookie("access_token", token)
    response = client.get("/tools")
    assert_refused(response, 401, "missing_credentials", presented=token,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)


# Keys of every kind a server refuses; each is a secret to the scanner once it is sent.
ISSUED_BODY = "otc_live_" + "Hk2Rw9Tz" * 4
UNKNOWN_KEY = "unknown-api-key-" + "Lm5Vy" * 8
EXPIRED_KEY = "expired-api-key-" + "Cq7Ds" * 8
DISABLED_KEY = "disabled-api-key-" + "Fr2Xu" * 8
EARLY_KEY = "not-yet-valid-api-key-" + "Jn4Pe" * 8
WRONG_CHECKSUM = "000000" if checksum(ISSUED_BODY) != "000000" else "000001"
# The case, the headers, and the reason the server logs (and only logs).
REFUSED_KEYS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "empty": ([("OTC-API-Key", "")], "malformed (The credential header is empty.)"),
    "oversized": ([("OTC-API-Key", "k" * 513)], "longer than 512 characters"),
    "non-ASCII": ([("OTC-API-Key", API_KEY[:-1] + "é")], "must be visible ASCII"),
    "spaced": ([("OTC-API-Key", API_KEY[:20] + " " + API_KEY[20:])], "must be visible ASCII"),
    "sent twice": ([("OTC-API-Key", API_KEY), ("OTC-API-Key", API_KEY)], "more than once"),
    "disagreeing key headers": ([("OTC-API-Key", API_KEY), ("OXP-API-Key", OTHER_API_KEY)],
                                "the key headers disagree"),
    "unknown": ([("OTC-API-Key", UNKNOWN_KEY)], "refused: unknown"),
    "expired": ([("OTC-API-Key", EXPIRED_KEY)], 'expired (record "expired")'),
    "disabled": ([("OTC-API-Key", DISABLED_KEY)], 'disabled (record "disabled")'),
    "not yet valid": ([("OTC-API-Key", EARLY_KEY)], 'not yet valid (record "early")'),
    "bad checksum": ([("OTC-API-Key", f"{ISSUED_BODY}_{WRONG_CHECKSUM}")],
                     "malformed (checksum)"),
}


def refusing_keys_app() -> Flask:
    """Records that are expired, disabled and not yet valid, and a loader (which knows none),
    so an issued key with a wrong checksum is refused by its format, before any lookup."""
    app = Flask(__name__)
    app.config.update(base_config(OTC_AUTH_API_KEYS=[
        API_KEY, OTHER_API_KEY,
        key_record(EXPIRED_KEY, id="expired", expires_at=iso(-60)),
        key_record(DISABLED_KEY, id="disabled", disabled=True),
        key_record(EARLY_KEY, id="early", not_before=iso(3600)),
    ]))
    OTCAuth(app, api_key_loader=lambda digest: None)

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return identity_json()

    return app


@pytest.mark.parametrize("case", sorted(REFUSED_KEYS))
def test_every_refused_api_key_gets_the_same_answer(case: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Status, body (byte for byte) and challenges say nothing of why a key was refused: the
    reason is only logged."""
    client = refusing_keys_app().test_client()
    unknown = client.get("/tools", headers={"OTC-API-Key": UNKNOWN_KEY})
    assert_refused(unknown, 401, "invalid_api_key", presented=UNKNOWN_KEY,
                   challenge_prefixes=CREDENTIAL_CHALLENGES)
    headers, reason = REFUSED_KEYS[case]
    caplog.clear()
    with caplog.at_level("INFO", logger="flask_otcauth"):
        response = client.get("/tools", headers=headers)
    assert reason in caplog.text  # refused for the reason the case is named after
    assert response.status_code == 401
    assert response.get_data() == unknown.get_data()
    assert (response.headers.getlist("WWW-Authenticate")
            == unknown.headers.getlist("WWW-Authenticate"))
