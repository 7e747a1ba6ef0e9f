"""The signature (hmac) headers, fed random text, random structured fields and mutations of a
validly signed request: to the scheme itself, and over HTTP.

Invariants: never a 5xx (nor another exception than the scheme's 401); never a 2xx, but for a
mutation that leaves the signed request what it was. RFC 8941 lets a parser accept a byte
sequence without its ``=`` padding or with non-zero pad bits, and HTTP strips the whitespace
around a field value, so such a mutation spells the same signature; it cannot be replayed, as
each nonce is spent once.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import http_sf
from flask import Flask
from hypothesis import event, given
from hypothesis import strategies as st

from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.core.gate import build_schemes
from flask_otcauth.core.methods.base import AuthRequest
from flask_otcauth.core.methods.hmac import SignedRequest
from flask_otcauth.core.refusals import AuthFailure
from flask_otcauth.core.settings import load_settings

from ..conftest import base_config, identity_json
from ..helpers import HMAC_CLIENT, HMAC_SECRET, signed

CONFIG = base_config(OTC_AUTH_METHODS=["hmac", "jwt", "api_key"],
                     OTC_AUTH_HMAC_CLIENTS={HMAC_CLIENT: HMAC_SECRET})
SCHEME = build_schemes(load_settings(CONFIG))["hmac"]
SIGNATURE_HEADERS = ("Content-Digest", "Signature-Input", "Signature")
REQUIRED = ["@method", "@authority", "@path", "@query", "content-digest"]
COMPONENTS = [*REQUIRED, "@target-uri", "@request-target", "@scheme", "@signature-params",
              "content-type", "signature", "Content-Digest", "@query-param"]
MAX_SECONDS = 1.0


def signing_app() -> Flask:
    app = Flask(__name__)
    app.config.update(CONFIG)
    OTCAuth(app)

    @app.get("/tools")
    @require_auth
    def tools() -> dict[str, Any]:
        return identity_json()

    return app


APP = signing_app()

# What a WSGI server can hand over: latin-1 text without line breaks.
header_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=300)
sf_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                exclude_characters='"\\'), max_size=24)
sf_value = st.one_of(
    st.builds(lambda ahead: int(time.time()) + ahead, st.integers(-400, 400)),
    st.integers(-(10**15), 10**15), sf_text, st.booleans(), st.binary(max_size=16),
    st.sampled_from([HMAC_CLIENT, "hmac-sha256", "HMAC-SHA256", "ed25519", ""]),
)


def serialized(value: Any) -> str:
    """An RFC 8941 bare item."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode() + ":"
    return '"' + str(value) + '"'


@st.composite
def signature_fields(draw: st.DrawFn) -> dict[str, str]:
    """Signature-Input and Signature as a client could write them: likely labels, components
    and parameters, each mostly as the profile wants it, and a random signature (some reach the
    HMAC check)."""
    label = draw(st.sampled_from(["otc", "sig1", "x"]))
    components = draw(st.permutations(REQUIRED) | st.permutations(REQUIRED)
                      | st.lists(st.sampled_from(COMPONENTS), max_size=8))
    wanted = {"created": st.builds(lambda: int(time.time())), "keyid": st.just(HMAC_CLIENT),
              "alg": st.just("hmac-sha256"), "nonce": sf_text.filter(bool)}
    params: dict[str, Any] = {}
    for name, value in wanted.items():
        choice = draw(st.sampled_from(["wanted", "wanted", "wanted", "other", "absent"]))
        if choice != "absent":
            params[name] = draw(value if choice == "wanted" else sf_value)
    params.update(draw(st.dictionaries(st.sampled_from(["expires", "tag", "created", "x"]),
                                       sf_value, max_size=2)))
    inner = " ".join(f'"{name}"' for name in components)
    signature_input = f"{label}=({inner})" + "".join(
        f";{name}={serialized(value)}" for name, value in params.items())
    signature_label = draw(st.sampled_from([label, label, "other"]))
    signature = draw(st.binary(min_size=0, max_size=48))
    return {"Signature-Input": signature_input,
            "Signature": f"{signature_label}={serialized(signature)}"}


def random_fields() -> st.SearchStrategy[dict[str, str]]:
    texts = st.fixed_dictionaries({}, optional={name: header_text for name in SIGNATURE_HEADERS})
    return texts | signature_fields()


@st.composite
def mutated_signed_request(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    """A freshly signed request (its own nonce) and a copy with one header changed by one
    character: replaced, inserted or deleted."""
    original = signed("GET", "/tools")
    name = draw(st.sampled_from(SIGNATURE_HEADERS))
    value = original[name]
    index = draw(st.integers(0, len(value) - 1))
    char = draw(st.characters(codec="latin-1", exclude_characters="\r\n"))
    mode = draw(st.sampled_from(["replace", "insert", "delete"]))
    changed = {"replace": value[:index] + char + value[index + 1:],
               "insert": value[:index] + char + value[index:],
               "delete": value[:index] + value[index + 1:]}[mode]
    return original, {**original, name: changed}


def parsed(value: str) -> Any:
    """The RFC 8941 dictionary a field value stands for (HTTP strips the whitespace around it),
    or ``None`` when it is not one."""
    try:
        return http_sf.parse(value.strip(" \t").encode("ascii"), tltype="dictionary")
    except ValueError:  # StructuredFieldError and UnicodeEncodeError are ValueErrors
        return None


def same_request(original: dict[str, str], mutated: dict[str, str]) -> bool:
    """Whether the mutated headers say what the signed ones say: the same structured values
    in Signature-Input and Signature, and the same Content-Digest (a covered field, signed as
    sent) but for surrounding whitespace."""
    digest_same = mutated["Content-Digest"].strip(" \t") == original["Content-Digest"]
    return digest_same and all(
        parsed(mutated[name]) is not None and parsed(mutated[name]) == parsed(original[name])
        for name in ("Signature-Input", "Signature"))


def verify(headers: dict[str, str]) -> bool:
    """The scheme's verdict on a GET of http://localhost/tools with these headers: True for
    an identity; a refusal must be its 401."""
    lowered = {name.lower(): value for name, value in headers.items()}
    request = AuthRequest(lambda name: lowered.get(name.lower()), "GET",
                          lambda: "http://localhost/tools", lambda: b"")
    credential = SCHEME.extract(request)
    if credential is None:
        return False
    assert isinstance(credential, SignedRequest)
    try:
        SCHEME.verify(credential, time.time())
    except AuthFailure as failure:
        assert (failure.status, failure.code) == (401, "invalid_signature"), failure
        return False
    return True


def answer(headers: dict[str, str]) -> tuple[int, str | None]:
    """The status and error code of a GET of /tools with these headers, in the time bound."""
    started = time.perf_counter()
    response = APP.test_client().get("/tools", headers=headers)
    elapsed = time.perf_counter() - started
    assert elapsed < MAX_SECONDS, f"{elapsed:.3f} s for one request"
    assert response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json(silent=True) or {}
    return int(response.status_code), body.get("error")


@given(random_fields())
def test_random_signature_headers_are_refused_by_the_scheme(headers: dict[str, str]) -> None:
    assert verify(headers) is False


@given(mutated_signed_request())
def test_a_mutated_signature_is_accepted_by_the_scheme_only_as_the_signed_request(
    request: tuple[dict[str, str], dict[str, str]],
) -> None:
    original, mutated = request
    accepted = verify(mutated)
    event(f"accepted {accepted}, same request {same_request(original, mutated)}")
    if accepted:
        assert same_request(original, mutated), mutated


@given(random_fields())
def test_random_signature_headers_are_refused_over_http(headers: dict[str, str]) -> None:
    signs = "Signature-Input" in headers or "Signature" in headers
    assert answer(headers) == (401, "invalid_signature" if signs else "missing_credentials")


@given(mutated_signed_request())
def test_a_mutated_signature_is_accepted_over_http_only_as_the_signed_request(
    request: tuple[dict[str, str], dict[str, str]],
) -> None:
    original, mutated = request
    status, error = answer(mutated)
    event(f"{status}, same request {same_request(original, mutated)}")
    if status == 200:
        assert same_request(original, mutated), mutated
    else:
        assert (status, error) == (401, "invalid_signature")


def test_the_unmutated_signed_request_is_accepted() -> None:
    """The fuzzed requests are signed as the server expects: the mutation is what is refused."""
    assert verify(signed("GET", "/tools")) is True
    assert answer(signed("GET", "/tools")) == (200, None)
