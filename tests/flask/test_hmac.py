"""HMAC request signing (RFC 9421 profile) through HTTP: what is accepted, once, and what is not."""

from __future__ import annotations

import base64
import datetime
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from http_message_signatures import signatures as library_signatures
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse

from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.client import sign_request
from flask_otcauth.core.methods.base import AuthRequest
from flask_otcauth.core.methods.hmac import HmacScheme
from flask_otcauth.core.refusals import AuthFailure
from flask_otcauth.core.storage import MemoryStorage
from flask_otcauth.testing import signed_headers

from .. import rfc9421
from ..conftest import RUN_NAMESPACE, base_config, identity_json
from ..helpers import (
    API_KEY,
    AUDIENCE,
    HMAC_CLIENT,
    HMAC_SECRET,
    OLD_HMAC_SECRET,
    OTHER_API_KEY,
    api_key,
    assert_refused,
    bearer,
    make_token,
    settle_nonce_store,
    signed,
)

BODY = b'{"tool": "echo", "arguments": {"text": "hi"}}'
DEAD_REDIS = "redis://127.0.0.1:1/0"


def hmac_app(**overrides: Any) -> Flask:
    """hmac first, then jwt and api_key; one view echoing the identity and the body it got."""
    settings: dict[str, Any] = {
        "OTC_AUTH_METHODS": ["hmac", "jwt", "api_key"],
        "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: [HMAC_SECRET, OLD_HMAC_SECRET]},
    }
    settings.update(overrides)
    app = Flask(__name__)
    app.config.update(base_config(**settings))
    OTCAuth(app)

    @app.route("/tools/<name>", methods=["GET", "POST", "PUT"])
    @require_auth
    def tool(name: str) -> dict[str, Any]:
        return {**identity_json(), "name": name, "body": request.get_data(as_text=True)}

    @app.post("/form")
    @require_auth
    def form() -> dict[str, Any]:
        return {"text": request.form["text"]}

    return app


@pytest.fixture
def client() -> FlaskClient:
    return hmac_app().test_client()


class ProcessClock:
    """This process's ``time.time`` and ``time.monotonic``, frozen and moved by hand.

    The extension reads ``now`` from ``time.time`` and the memory storage reads
    ``time.monotonic``; both move together. It starts at the current whole second, so
    http-message-signatures (which reads ``datetime.now``) agrees with it within the test's run
    time. Build the app after the clock is set: its storage takes the clock when it is made.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.start = int(time.time())
        self.now = float(self.start)
        monotonic_start = time.monotonic()
        monkeypatch.setattr(time, "time", lambda: self.now)
        monkeypatch.setattr(time, "monotonic",
                            lambda: monotonic_start + (self.now - self.start))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ProcessClock:
    return ProcessClock(monkeypatch)


def post(client: FlaskClient, path: str, headers: dict[str, str], body: bytes = BODY,
         method: str = "POST") -> TestResponse:
    return client.open(path, method=method, data=body, headers=headers)


SIGNATURE_CHALLENGE = 'Signature realm="otc", alg="hmac-sha256"'
# Every WWW-Authenticate value of a 401 of hmac_app(), in the order of its methods.
HMAC_APP_CHALLENGES = [SIGNATURE_CHALLENGE, 'Bearer realm="otc"',
                       'APIKey realm="otc", header="OTC-API-Key"']


# Accepted ----------------------------------------------------------------------------------


def test_signed_request_is_accepted_with_the_client_as_identity(client: FlaskClient) -> None:
    response = post(client, "/tools/echo?x=1", signed("POST", "/tools/echo?x=1", BODY))

    assert response.status_code == 200
    assert response.json == {"method": "hmac", "subject": HMAC_CLIENT, "client": HMAC_CLIENT,
                             "name": "echo", "body": BODY.decode()}


def test_request_signed_by_hand_from_the_rfc_is_accepted(client: FlaskClient) -> None:
    headers = rfc9421.sign("POST", "http://localhost/tools/echo?x=1&y=%2F", BODY,
                           key_id=HMAC_CLIENT, secret=HMAC_SECRET, created=int(time.time()),
                           nonce="hand-made-nonce-1")

    response = post(client, "/tools/echo?x=1&y=%2F", headers)

    assert response.status_code == 200


def test_our_client_signs_the_same_base_as_the_rfc(client: FlaskClient) -> None:
    created, nonce = int(time.time()), "same-base-nonce"
    ours = sign_request("PUT", "http://localhost/tools/a%20b?q=%C3%A9", key_id=HMAC_CLIENT,
                        secret=HMAC_SECRET, body=BODY, created=created, nonce=nonce, label="sig1")
    components = ("@method", "@authority", "@path", "@query", "content-digest")
    params: list[tuple[str, str | int]] = [("created", created), ("keyid", HMAC_CLIENT),
                                           ("alg", "hmac-sha256"), ("nonce", nonce)]
    base = rfc9421.signature_base("PUT", "http://localhost/tools/a%20b?q=%C3%A9",
                                  {"Content-Digest": rfc9421.content_digest(BODY)},
                                  list(components), params)

    assert ours["Content-Digest"] == rfc9421.content_digest(BODY)
    assert ours["Signature-Input"] == "sig1=" + rfc9421.signature_params(list(components), params)
    assert ours["Signature"] == f"sig1=:{rfc9421.hmac_sha256(HMAC_SECRET.encode(), base)}:"
    assert post(client, "/tools/a%20b?q=%C3%A9", ours, method="PUT").status_code == 200


# RFC 9421 Appendix B.2.5: HMAC-SHA256 with the shared secret of B.1.4 over the test request of
# Appendix B.2, covering ("date" "@authority" "content-type").
B25_KEY_ID = "test-shared-secret"
B25_KEY = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
B25_CREATED = 1618884473
B25_COMPONENTS = ("date", "@authority", "content-type")
B25_URL = "https://example.com/foo?param=Value&Pet=dog"
B25_BODY = b'{"hello": "world"}'
B25_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7"
                      "BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
    "Signature-Input": f'sig-b25=("date" "@authority" "content-type");created={B25_CREATED}'
                       f';keyid="{B25_KEY_ID}"',
    "Signature": "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
}


@pytest.fixture
def library_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Sets the time http-message-signatures checks ``created`` against (its datetime.now)."""
    moment = [0]

    def now(tz: datetime.tzinfo | None = None) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(moment[0], tz)

    monkeypatch.setattr(library_signatures, "datetime", SimpleNamespace(
        datetime=SimpleNamespace(now=now, fromtimestamp=datetime.datetime.fromtimestamp),
        timezone=datetime.timezone, timedelta=datetime.timedelta))
    return lambda seconds: moment.__setitem__(0, seconds)


def b25_signature_step(*, max_age: int = 300, leeway: int = 5) -> Any:
    """The B.2.5 request through the server's signature step (``HmacScheme.verify_signature``).

    The whole profile would refuse it (no nonce, no alg, none of our required components), so
    only the RFC 9421 step is fed, as the scheme calls it, with the vector's secret as a client.
    """
    scheme = HmacScheme([(B25_KEY_ID, (B25_KEY,))], max_age=max_age, leeway=leeway,
                        nonces=MemoryStorage())
    headers = {name.lower(): value for name, value in B25_HEADERS.items()}
    credential = scheme.extract(AuthRequest(lambda name: headers.get(name.lower()), "POST",
                                            lambda: B25_URL, lambda: B25_BODY))
    assert credential is not None
    return scheme.verify_signature(credential, B25_KEY_ID, B25_COMPONENTS)


def test_rfc_9421_appendix_b_2_5_hmac_vector_is_reproduced_by_hand() -> None:
    headers = {"Date": B25_HEADERS["Date"], "Content-Type": B25_HEADERS["Content-Type"]}
    base = rfc9421.signature_base("POST", B25_URL, headers, list(B25_COMPONENTS),
                                  [("created", B25_CREATED), ("keyid", B25_KEY_ID)])

    assert rfc9421.hmac_sha256(B25_KEY, base) == "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="


def test_rfc_9421_appendix_b_2_5_hmac_vector_verifies_in_the_servers_signature_step(
    library_clock: Callable[[int], None],
) -> None:
    library_clock(B25_CREATED)

    result = b25_signature_step()

    assert result.label == "sig-b25"
    assert result.parameters == {"created": B25_CREATED, "keyid": B25_KEY_ID}
    assert result.covered_components['"@authority"'] == "example.com"


def test_signature_step_gives_the_library_the_configured_max_age_not_a_day(
    library_clock: Callable[[int], None],
) -> None:
    """60 s and a leeway of 5: the library accepts created + 65 and refuses created + 66."""
    library_clock(B25_CREATED + 65)
    assert b25_signature_step(max_age=60).label == "sig-b25"

    library_clock(B25_CREATED + 66)
    with pytest.raises(AuthFailure, match="does not verify"):
        b25_signature_step(max_age=60)


def test_empty_body_is_signed_and_accepted(client: FlaskClient) -> None:
    response = client.get("/tools/list", headers=signed("GET", "/tools/list"))

    assert response.status_code == 200


def test_previous_secret_still_verifies_during_rotation(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY, secret=OLD_HMAC_SECRET)

    assert post(client, "/tools/echo", headers).status_code == 200


def test_signature_299_seconds_old_is_accepted(clock: ProcessClock) -> None:
    headers = signed("POST", "/tools/echo", BODY, created=clock.start - 299)

    assert post(hmac_app().test_client(), "/tools/echo", headers).status_code == 200


def test_signature_created_3_seconds_ahead_is_accepted_with_the_default_leeway(
    clock: ProcessClock,
) -> None:
    headers = signed("POST", "/tools/echo", BODY, created=clock.start + 3)

    assert post(hmac_app().test_client(), "/tools/echo", headers).status_code == 200


def test_form_body_stays_readable_for_the_view(client: FlaskClient) -> None:
    body = b"text=hello+world"
    headers = {**signed("POST", "/form", body),
               "Content-Type": "application/x-www-form-urlencoded"}

    response = client.post("/form", data=body, headers=headers)

    assert response.status_code == 200
    assert response.json == {"text": "hello world"}


# Refused -----------------------------------------------------------------------------------


def test_replayed_request_is_refused(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY)
    assert post(client, "/tools/echo", headers).status_code == 200

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="nonce was already used", challenges=HMAC_APP_CHALLENGES)


def test_body_altered_after_signing_is_refused(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY)

    assert_refused(post(client, "/tools/echo", headers, body=BODY + b" "), 401, "invalid_signature",
                   hint="Content-Digest", challenges=HMAC_APP_CHALLENGES)


def test_body_and_digest_replaced_after_signing_is_refused(client: FlaskClient) -> None:
    headers = {**signed("POST", "/tools/echo", BODY),
               "Content-Digest": rfc9421.content_digest(b"{}")}

    assert_refused(post(client, "/tools/echo", headers, body=b"{}"), 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/tools/other"),        # path
    ("POST", "/tools/echo?x=2"),     # query
    ("PUT", "/tools/echo?x=1"),      # method
])
def test_request_altered_after_signing_is_refused(
    client: FlaskClient, method: str, path: str
) -> None:
    headers = signed("POST", "/tools/echo?x=1", BODY)

    assert_refused(post(client, path, headers, method=method), 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


def test_request_signed_for_another_authority_is_refused(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY, host="other.example")

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


def test_wrong_secret_is_refused(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY, secret="forged-secret-" + "Lk8Ds" * 8)

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


def test_unknown_client_is_refused(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY, key_id="stranger")

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="keyid names no client", challenges=HMAC_APP_CHALLENGES)


def test_signature_301_seconds_old_is_refused(clock: ProcessClock) -> None:
    """The past window is max_age itself: the leeway is not added to it."""
    headers = signed("POST", "/tools/echo", BODY, created=clock.start - 301)

    assert_refused(post(hmac_app().test_client(), "/tools/echo", headers), 401, "invalid_signature",
                   hint="older than 300 s", challenges=HMAC_APP_CHALLENGES)


def test_max_age_setting_shortens_the_window() -> None:
    client = hmac_app(OTC_AUTH_HMAC_MAX_AGE=30, OTC_AUTH_HMAC_LEEWAY=0).test_client()
    headers = signed("POST", "/tools/echo", BODY, created=int(time.time()) - 40)

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="older than 30 s", challenges=HMAC_APP_CHALLENGES)


def test_signature_created_6_seconds_ahead_is_refused_by_default(clock: ProcessClock) -> None:
    headers = signed("POST", "/tools/echo", BODY, created=clock.start + 6)

    assert_refused(post(hmac_app().test_client(), "/tools/echo", headers), 401, "invalid_signature",
                   hint="in the future", challenges=HMAC_APP_CHALLENGES)


def test_signature_created_3_seconds_ahead_is_refused_without_leeway(clock: ProcessClock) -> None:
    client = hmac_app(OTC_AUTH_HMAC_LEEWAY=0).test_client()
    headers = signed("POST", "/tools/echo", BODY, created=clock.start + 3)

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="in the future", challenges=HMAC_APP_CHALLENGES)


@pytest.mark.parametrize(("missing", "hint"), [
    ("@method", "lacks @method"),
    ("@authority", "lacks @authority"),
    ("@path", "lacks @path"),
    ("@query", "lacks @query"),
    ("content-digest", "lacks content-digest"),
])
def test_signature_not_covering_a_required_component_is_refused(
    client: FlaskClient, missing: str, hint: str
) -> None:
    components = tuple(c for c in ("@method", "@authority", "@path", "@query", "content-digest")
                       if c != missing)
    headers = rfc9421.sign("POST", "http://localhost/tools/echo", BODY, key_id=HMAC_CLIENT,
                           secret=HMAC_SECRET, created=int(time.time()), nonce="n-" + missing,
                           components=components)

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint=hint, challenges=HMAC_APP_CHALLENGES)


def test_other_algorithm_is_refused(client: FlaskClient) -> None:
    headers = rfc9421.sign("POST", "http://localhost/tools/echo", BODY, key_id=HMAC_CLIENT,
                           secret=HMAC_SECRET, created=int(time.time()), nonce="n-alg",
                           alg="hmac-sha512")

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint='alg="hmac-sha256"', challenges=HMAC_APP_CHALLENGES)


@pytest.mark.parametrize(("parameter", "hint"), [
    ("nonce", "must carry a nonce"),
    ("created", "must carry created"),
    ("keyid", "name the client in keyid"),
])
def test_signature_without_a_required_parameter_is_refused(
    client: FlaskClient, parameter: str, hint: str
) -> None:
    headers = signed("POST", "/tools/echo", BODY)
    headers["Signature-Input"] = ";".join(
        part for part in headers["Signature-Input"].split(";") if not part.startswith(parameter))

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint=hint, challenges=HMAC_APP_CHALLENGES)


@pytest.mark.parametrize("drop", ["Signature", "Signature-Input"])
def test_half_a_signature_is_refused(client: FlaskClient, drop: str) -> None:
    headers = signed("POST", "/tools/echo", BODY)
    del headers[drop]

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint=f"{drop} is missing", challenges=HMAC_APP_CHALLENGES)


@pytest.mark.parametrize("value", ["otc=(", "not a dictionary", "otc=:é:"])
def test_malformed_signature_input_is_refused(client: FlaskClient, value: str) -> None:
    headers = {**signed("POST", "/tools/echo", BODY), "Signature-Input": value}

    response = post(client, "/tools/echo", headers)

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_signature"


def test_two_signatures_are_refused(client: FlaskClient) -> None:
    first = signed("POST", "/tools/echo", BODY, label="a")
    second = signed("POST", "/tools/echo", BODY, label="b")
    headers = {**first,
               "Signature-Input": f"{first['Signature-Input']}, {second['Signature-Input']}",
               "Signature": f"{first['Signature']}, {second['Signature']}"}

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="exactly one signature", challenges=HMAC_APP_CHALLENGES)


def test_oversized_nonce_is_refused(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY, nonce="n" * 200)

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="nonce of 1-128", challenges=HMAC_APP_CHALLENGES)


def test_refusal_does_not_echo_the_signature(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY, secret="forged-secret-" + "Lk8Ds" * 8)

    response = post(client, "/tools/echo", headers)

    signature = headers["Signature"].split("=", 1)[1].strip(":")
    assert signature not in response.get_data(as_text=True)


# Replay: once, even in parallel -------------------------------------------------------------


def test_twenty_parallel_identical_requests_get_exactly_one_200() -> None:
    app = hmac_app()
    headers = signed("POST", "/tools/echo", BODY)

    def send(_: int) -> int:
        return post(app.test_client(), "/tools/echo", headers).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(20)))

    assert sorted(statuses) == [200] + [401] * 19


def test_replay_at_the_end_of_the_window_is_refused(clock: ProcessClock) -> None:
    """Memory storage: first used at created - leeway, replayed at created + max_age (still
    fresh), max_age + leeway later: the recorded nonce must still be there."""
    client = hmac_app().test_client()
    headers = signed("POST", "/tools/echo", BODY, created=clock.start)
    clock.now = clock.start - 5
    assert post(client, "/tools/echo", headers).status_code == 200

    clock.now = clock.start + 300
    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="nonce was already used", challenges=HMAC_APP_CHALLENGES)


@pytest.mark.redis
def test_recorded_nonce_outlives_the_window_in_redis(redis_url: str) -> None:
    import redis  # noqa: PLC0415 - only when a Redis answers

    settle_nonce_store(redis_url)
    client = hmac_app(OTC_AUTH_STORAGE_URI=redis_url, OTC_AUTH_HMAC_MAX_AGE=120,
                      OTC_AUTH_HMAC_LEEWAY=10).test_client()
    headers = signed("POST", "/tools/echo", BODY)
    spent_at = time.time()
    assert post(client, "/tools/echo", headers).status_code == 200

    store = redis.Redis.from_url(redis_url)
    nonces = store.zrange(f"{RUN_NAMESPACE}:{{hmac-nonces}}", 0, -1, withscores=True)
    store.close()
    # The set's marker (scored +inf, never expiring), and one nonce, kept past the window.
    assert [score for _, score in nonces if score == float("inf")] == [float("inf")]
    [(_, forget_at)] = [(member, score) for member, score in nonces if score != float("inf")]
    assert forget_at >= spent_at + 120 + 10
    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="nonce was already used", challenges=HMAC_APP_CHALLENGES)


def test_nonce_is_per_client() -> None:
    other_secret = "other-hmac-secret-" + "Rt5Yu" * 8
    client = hmac_app(OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: HMAC_SECRET,
                                             "other": other_secret}).test_client()

    first = signed("POST", "/tools/echo", BODY, nonce="shared-nonce")
    second = signed("POST", "/tools/echo", BODY, nonce="shared-nonce", key_id="other",
                    secret=other_secret)

    assert post(client, "/tools/echo", first).status_code == 200
    assert post(client, "/tools/echo", second).status_code == 200


# Storage outage: fail closed ----------------------------------------------------------------


def test_unreachable_nonce_store_answers_503_never_200() -> None:
    client = hmac_app(OTC_AUTH_STORAGE_URI=DEAD_REDIS).test_client()

    response = post(client, "/tools/echo", signed("POST", "/tools/echo", BODY))

    assert response.status_code == 503
    assert response.json is not None
    assert set(response.json) == {"error", "message", "developer_message"}
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "WWW-Authenticate" not in response.headers


def test_unreachable_nonce_store_still_refuses_a_bad_signature_with_401() -> None:
    client = hmac_app(OTC_AUTH_STORAGE_URI=DEAD_REDIS).test_client()
    headers = signed("POST", "/tools/echo", BODY, secret="forged-secret-" + "Lk8Ds" * 8)

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


def test_503_is_not_counted_as_a_failed_attempt() -> None:
    client = hmac_app(OTC_AUTH_STORAGE_URI=DEAD_REDIS,
                      OTC_AUTH_FAILURE_RATELIMIT="2/minute").test_client()
    statuses = [post(client, "/tools/echo", signed("POST", "/tools/echo", BODY)).status_code
                for _ in range(3)]

    assert statuses == [503, 503, 503]
    assert client.get("/tools/list", headers=api_key()).status_code == 200


# Scheme selection by header ----------------------------------------------------------------


def test_api_key_alone_selects_api_key(client: FlaskClient) -> None:
    response = client.get("/tools/list", headers=api_key())

    assert response.json is not None
    assert response.json["method"] == "api_key"


def test_bearer_alone_selects_jwt(client: FlaskClient) -> None:
    response = client.get("/tools/list", headers=bearer(make_token(sub="agent", aud=AUDIENCE)))

    assert response.json is not None
    assert response.json["method"] == "jwt"


def test_signature_and_api_key_take_identity_from_the_preferred_method() -> None:
    client = hmac_app(OTC_AUTH_METHODS=["api_key", "hmac"]).test_client()
    headers = {**signed("POST", "/tools/echo", BODY), **api_key()}

    response = post(client, "/tools/echo", headers)

    assert response.json is not None
    assert response.json["method"] == "api_key"


def test_invalid_signature_is_not_rescued_by_a_valid_key(client: FlaskClient) -> None:
    headers = {**signed("POST", "/tools/other", BODY), **api_key()}

    assert_refused(post(client, "/tools/echo", headers), 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


def test_signature_headers_are_ignored_when_hmac_is_not_enabled() -> None:
    client = hmac_app(OTC_AUTH_METHODS=["api_key"]).test_client()
    headers = {**signed("POST", "/tools/other", BODY), **api_key()}

    response = post(client, "/tools/echo", headers)

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["method"] == "api_key"


def test_refusal_of_another_credential_leaves_the_nonce_unspent(client: FlaskClient) -> None:
    headers = signed("POST", "/tools/echo", BODY)
    assert post(client, "/tools/echo", {**headers, **api_key(OTHER_API_KEY)}).status_code == 401

    assert post(client, "/tools/echo", headers).status_code == 200


def test_missing_credentials_name_the_signature_too(client: FlaskClient) -> None:
    response = client.get("/tools/list")

    assert response.status_code == 401
    assert response.json is not None
    assert "Signature-Input" in response.json["developer_message"]
    assert 'Signature realm="otc", alg="hmac-sha256"' in response.headers.getlist(
        "WWW-Authenticate")


def test_api_keys_of_the_app_are_not_accepted_as_signing_secrets() -> None:
    from flask_otcauth import OTCAuthConfigError  # noqa: PLC0415

    with pytest.raises(OTCAuthConfigError, match=r'OTC_AUTH_HMAC_CLIENTS\["tool-caller"\]'):
        hmac_app(OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: API_KEY})


# Behind a TLS-terminating proxy (ProxyFix) --------------------------------------------------


def test_proxy_fix_restores_the_authority_and_prefix_the_client_signed() -> None:
    app = hmac_app()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]
    headers = sign_request("POST", "https://api.example.com/otc/tools/echo?x=1",
                           key_id=HMAC_CLIENT, secret=HMAC_SECRET, body=BODY)
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "api.example.com", "X-Forwarded-Prefix": "/otc"}

    response = app.test_client().post("/tools/echo?x=1", data=BODY,
                                      headers={**headers, **forwarded})

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["subject"] == HMAC_CLIENT


def test_without_proxy_fix_a_forwarded_authority_is_not_trusted() -> None:
    headers = sign_request("POST", "https://api.example.com/tools/echo", key_id=HMAC_CLIENT,
                           secret=HMAC_SECRET, body=BODY)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}

    response = hmac_app().test_client().post("/tools/echo", data=BODY,
                                             headers={**headers, **forwarded})

    assert_refused(response, 401, "invalid_signature",
                   hint="does not verify", challenges=HMAC_APP_CHALLENGES)


# The pytest plugin's signer ---------------------------------------------------------------


def test_plugin_signs_test_client_requests_as_the_first_client() -> None:
    app = hmac_app()
    headers = signed_headers(app, "POST", "/tools/echo?x=1", BODY)

    response = app.test_client().post("/tools/echo?x=1", data=BODY, headers=headers)

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["subject"] == HMAC_CLIENT


def test_plugin_signs_for_the_server_name_of_the_app() -> None:
    app = hmac_app(SERVER_NAME="tools.example.com")
    headers = signed_headers(app, "GET", "/tools/list", client_id=HMAC_CLIENT)

    assert app.test_client().get("/tools/list", headers=headers).status_code == 200


def test_plugin_refuses_to_sign_for_an_app_without_clients() -> None:
    with pytest.raises(ValueError, match="OTC_AUTH_HMAC_CLIENTS"):
        signed_headers(hmac_app(OTC_AUTH_METHODS=["api_key"], OTC_AUTH_HMAC_CLIENTS={}),
                       "GET", "/tools/list")
