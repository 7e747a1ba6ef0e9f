"""The header parsers, fed anything: they answer with a verdict or a 401, never another error."""

from __future__ import annotations

import base64
import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flask_otcauth.core.gate import build_schemes
from flask_otcauth.core.jose import check_compact_jws
from flask_otcauth.core.refusals import AuthFailure
from flask_otcauth.core.settings import load_settings

from ..conftest import base_config
from ..forge import b64url, forge, valid_claims
from ..helpers import API_KEY

HS256 = ("HS256",)
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
API_KEY_SCHEME = build_schemes(load_settings(base_config()))["api_key"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def verdict(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    try:
        return check_compact_jws(token, algorithms=HS256)
    except AuthFailure as failure:
        assert (failure.status, failure.code) == (401, "invalid_token")
        return None


@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused(text: str) -> None:
    verdict(text)


@given(st.binary(max_size=200), st.binary(max_size=200), st.binary(max_size=64))
def test_any_bytes_in_the_segments_are_parsed_or_refused(header: bytes, claims: bytes,
                                                         signature: bytes) -> None:
    verdict(f"{b64url(header)}.{b64url(claims)}.{b64url(signature)}")


@given(json_values, json_values)
def test_any_json_header_and_claims_are_parsed_or_refused(header: Any, claims: Any) -> None:
    parsed = verdict(forge(header, claims))
    if parsed is not None:  # what passes must be what the checks promise
        assert parsed[0].get("alg") == "HS256" and set(parsed[0]) <= {"alg", "typ"}
        assert isinstance(parsed[1], dict)
        for name in ("exp", "nbf", "iat"):
            assert name not in parsed[1] or type(parsed[1][name]) in (int, float)


def decoded_segments(token: str) -> tuple[bytes, ...] | None:
    """The bytes a token that passes the parser stands for, or ``None`` when it is refused."""
    if verdict(token) is None:
        return None
    return tuple(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
                 for part in token.split("."))


@given(st.data())
def test_mutated_valid_token_has_no_second_spelling(data: st.DataObject) -> None:
    token = forge(claims=valid_claims(exp=int(time.time()) + 300))
    # Segment ends carry the unused base64 bits, so they are drawn as often as anywhere else.
    ends = [index - 1 for index, char in enumerate(token + ".") if char == "."]
    index = data.draw(st.sampled_from(ends) | st.integers(0, len(token) - 1))
    original = token[index] if token[index] in BASE64URL else "A"
    low_bits = st.integers(1, 3).map(lambda bits: BASE64URL[BASE64URL.index(original) ^ bits])
    replacement = data.draw(low_bits | st.sampled_from(BASE64URL) | st.characters(codec="ascii"))
    mutated = token[:index] + replacement + token[index + 1:]
    if mutated != token:
        assert decoded_segments(mutated) != decoded_segments(token)


@given(st.text(max_size=600))
def test_any_api_key_header_is_verified_or_refused(value: str) -> None:
    scheme = API_KEY_SCHEME
    try:
        identity = scheme.verify(value, time.time())
    except AuthFailure as failure:
        assert (failure.status, failure.code) == (401, "invalid_api_key")
    else:
        assert value == API_KEY
        assert identity.method == "api_key"
