"""JWT bearer tokens (OTC 1.0): HS256, exp required and bounded, aud against allowed clients."""

from __future__ import annotations

import time

import jwt
import pytest
from flask.testing import FlaskClient

from flask_otcauth import current_identity, require_auth

from ..helpers import AUDIENCE, JWT_SECRET, OLD_JWT_SECRET, bearer, make_token


def status(client: FlaskClient, token: str, path: str = "/tools") -> int:
    return client.get(path, headers=bearer(token)).status_code


def test_valid_token_authenticates_with_its_subject(client: FlaskClient) -> None:
    response = client.get("/tools", headers=bearer(make_token(sub="agent-7", aud=AUDIENCE)))
    assert response.status_code == 200
    assert response.json == {"method": "jwt", "subject": "agent-7", "client": AUDIENCE}


def test_spec_minimal_token_without_sub_authenticates(client: FlaskClient) -> None:
    response = client.get("/tools", headers=bearer(make_token(aud=AUDIENCE)))
    assert response.status_code == 200
    assert response.json == {"method": "jwt", "subject": None, "client": AUDIENCE}


def test_token_without_aud_is_accepted_by_default(client: FlaskClient) -> None:
    assert status(client, make_token(sub="agent")) == 200


def test_token_without_aud_is_401_when_audience_required(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_REQUIRE_AUDIENCE=True).test_client()
    assert status(client, make_token(sub="agent")) == 401
    assert status(client, make_token(sub="agent", aud=AUDIENCE)) == 200


def test_foreign_audience_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(aud="someone-else")) == 401


def test_audience_list_with_one_allowed_client_is_accepted(client: FlaskClient) -> None:
    response = client.get("/tools", headers=bearer(make_token(aud=["other", AUDIENCE])))
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["client"] == AUDIENCE


def test_empty_audience_list_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(aud=[])) == 401


def test_non_string_audience_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(aud=[AUDIENCE, 7])) == 401


def test_token_with_aud_is_401_when_no_clients_are_allowed(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_AUDIENCES=[]).test_client()
    assert status(client, make_token(aud=AUDIENCE)) == 401
    assert status(client, make_token(sub="agent")) == 200


def test_token_without_exp_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(exp=None, aud=AUDIENCE)) == 401


def test_expired_token_is_401(client: FlaskClient) -> None:
    response = client.get("/tools", headers=bearer(make_token(ttl=-1, aud=AUDIENCE)))
    assert response.status_code == 401
    assert response.json is not None
    assert "expired" in response.json["developer_message"]


def test_float_exp_is_accepted(client: FlaskClient) -> None:
    assert status(client, make_token(exp=time.time() + 60.5, aud=AUDIENCE)) == 200


@pytest.mark.parametrize("exp", [str(int(time.time()) + 300), True, [int(time.time()) + 300]])
def test_non_numeric_exp_is_401(client: FlaskClient, exp: object) -> None:
    assert status(client, make_token(exp=exp, aud=AUDIENCE)) == 401


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_400_digit_numeric_date_is_401_never_500(client: FlaskClient, claim: str) -> None:
    # An integer that long is finite but has no float: a check through math.isfinite overflows.
    response = client.get("/tools", headers=bearer(make_token(**{claim: 10**400}, aud=AUDIENCE)))
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"


def test_digit_string_iat_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(iat=str(int(time.time())), aud=AUDIENCE)) == 401


def test_exp_further_ahead_than_max_lifetime_plus_the_clock_skew_is_401(
    client: FlaskClient,
) -> None:
    # Without iat the lifetime is measured from the server's clock, with the skew allowed.
    assert status(client, make_token(ttl=961, aud=AUDIENCE)) == 401
    assert status(client, make_token(ttl=955, aud=AUDIENCE)) == 200


def test_a_lifetime_from_iat_over_max_lifetime_is_401(client: FlaskClient) -> None:
    issued = int(time.time())
    assert status(client, make_token(iat=issued, exp=issued + 901, aud=AUDIENCE)) == 401
    assert status(client, make_token(iat=issued, exp=issued + 900, aud=AUDIENCE)) == 200


def test_exp_within_max_lifetime_is_accepted(client: FlaskClient) -> None:
    assert status(client, make_token(ttl=895, aud=AUDIENCE)) == 200


def test_max_lifetime_is_configurable(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_MAX_LIFETIME=60).test_client()
    assert status(client, make_token(ttl=130)) == 401  # 60 s, plus 60 s of clock skew
    assert status(client, make_token(ttl=30)) == 200
    issued = int(time.time())
    assert status(client, make_token(iat=issued, exp=issued + 61)) == 401


def test_nbf_further_ahead_than_the_clock_skew_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(nbf=time.time() + 65, aud=AUDIENCE)) == 401


def test_nbf_within_the_clock_skew_is_accepted(client: FlaskClient) -> None:
    assert status(client, make_token(nbf=time.time() + 55, aud=AUDIENCE)) == 200


def test_iat_further_ahead_than_the_clock_skew_is_401(client: FlaskClient) -> None:
    assert status(client, make_token(iat=int(time.time()) + 65, aud=AUDIENCE)) == 401


def test_iat_within_the_clock_skew_is_accepted(client: FlaskClient) -> None:
    assert status(client, make_token(iat=int(time.time()) + 55, aud=AUDIENCE)) == 200


def test_leeway_accepts_a_token_expired_within_it(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_LEEWAY=30).test_client()
    assert status(client, make_token(ttl=-10)) == 200
    assert status(client, make_token(ttl=-60)) == 401


def test_wrong_secret_is_401(client: FlaskClient) -> None:
    assert status(client, make_token("another-secret-of-enough-length-0123456789")) == 401


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_401(client: FlaskClient, algorithm: str) -> None:
    assert status(client, make_token(algorithm=algorithm, aud=AUDIENCE)) == 401


def test_alg_none_is_401(client: FlaskClient) -> None:
    token = jwt.encode({"exp": time.time() + 60}, None, algorithm="none")
    assert status(client, token) == 401


def test_rotated_out_secret_still_verifies_while_listed(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_SECRET=[JWT_SECRET, OLD_JWT_SECRET]).test_client()
    assert status(client, make_token(OLD_JWT_SECRET)) == 200
    assert status(client, make_token(JWT_SECRET)) == 200


def test_secret_removed_from_rotation_no_longer_verifies(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_SECRET=[JWT_SECRET]).test_client()
    assert status(client, make_token(OLD_JWT_SECRET)) == 401


def test_expired_token_under_an_older_secret_is_401(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_SECRET=[JWT_SECRET, OLD_JWT_SECRET]).test_client()
    assert status(client, make_token(OLD_JWT_SECRET, ttl=-5)) == 401


def test_issuer_is_required_and_matched_when_configured(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(OTC_AUTH_JWT_ISSUER="https://platform.example").test_client()
    assert status(client, make_token()) == 401
    assert status(client, make_token(iss="https://evil.example")) == 401
    assert status(client, make_token(iss="https://platform.example")) == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(client: FlaskClient, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {make_token(aud=AUDIENCE)}"}
    assert client.get("/tools", headers=headers).status_code == 200


def test_bearer_without_token_is_401(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"Authorization": "Bearer"})
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"


def test_token_over_8_kib_is_401_before_decoding(client: FlaskClient) -> None:
    token = make_token(aud=AUDIENCE, padding="p" * 9000)
    response = client.get("/tools", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None
    assert "8192" in response.json["developer_message"]


def test_two_authorization_lines_are_401(client: FlaskClient) -> None:
    token = make_token(aud=AUDIENCE)
    headers = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    assert client.get("/tools", headers=headers).status_code == 401


def test_non_bearer_authorization_is_not_a_credential(client: FlaskClient) -> None:
    response = client.get("/tools", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "missing_credentials"


def test_claims_are_exposed_read_only(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    @app.get("/claims")
    @require_auth
    def claims() -> dict[str, object]:
        try:
            current_identity.claims["sub"] = "admin"  # type: ignore[index]
        except TypeError:
            return {"sub": current_identity.claims["sub"], "writable": False}
        return {"writable": True}

    response = app.test_client().get("/claims", headers=bearer(make_token(sub="agent")))
    assert response.json == {"sub": "agent", "writable": False}


def test_the_invalid_token_challenge_is_one_quoted_string_whatever_the_hint(
    client: FlaskClient,
) -> None:
    # The typ refusal's hint names "JWT" in double quotes; RFC 6750 section 3 allows none in
    # error_description, and one would end the quoted-string early.
    token = jwt.encode({"exp": time.time() + 60}, JWT_SECRET, headers={"typ": "JWS"})
    challenge = client.get("/tools", headers=bearer(token)).headers.getlist("WWW-Authenticate")[0]

    description = challenge.split('error_description="', 1)[1]
    assert description.endswith('"')
    assert '"' not in description[:-1]
    assert "\\" not in description
    assert "typ must be 'JWT'" in description
