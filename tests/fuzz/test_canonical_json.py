"""Properties of the RFC 8785 form over generated JSON, and of the listing check over it.

A canonical form must read back as the same value, be a fixed point, and agree with the
standard library's encoder wherever the two define the same bytes; a signed definition must
verify whatever JSON it holds, and stop verifying when any of it changes.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from flask_otcauth.client import ToolListingError, canonicalize, verify_tool_listing

from ..tool_server import ADD, tool_server

# Unicode text without lone surrogates: I-JSON strings (RFC 7493 section 2.1).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
BMP_KEYS = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=8)
NUMBERS = st.one_of(st.integers(-(2**53), 2**53),
                    st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20)
# What json.dumps spells exactly as RFC 8785 does: no floats, keys in the BMP (where code
# point order is UTF-16 order).
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(BMP_KEYS, inner, max_size=4),
    max_leaves=20)


def _same(left: Any, right: Any) -> bool:
    """JSON equality: 1 and 1.0 are one number, and -0.0 is 0."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return math.isclose(left, right, rel_tol=0, abs_tol=0) or left == right
    return bool(left == right)


@given(JSON)
def test_the_canonical_form_reads_back_as_the_same_value(value: Any) -> None:
    """RFC 8785 section 3.2.2: serialization preserves the data (numbers as doubles)."""
    assert _same(json.loads(canonicalize(value)), value)


@given(JSON)
def test_the_canonical_form_is_a_fixed_point(value: Any) -> None:
    """RFC 8785 section 3.2: canonicalizing canonical JSON changes no byte."""
    canonical = canonicalize(value)

    assert canonicalize(json.loads(canonical)) == canonical


@given(PLAIN)
def test_the_standard_encoder_agrees_where_it_defines_the_same_bytes(value: Any) -> None:
    """RFC 8785 section 3.2.2.2: json.dumps escapes strings exactly as JCS does."""
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert canonicalize(value) == expected.encode("utf-8")


@given(st.dictionaries(TEXT, JSON, max_size=3))
def test_a_signed_definition_verifies_whatever_json_it_holds(extra: dict[str, Any]) -> None:
    server = tool_server()
    server.tools[:] = [{**ADD, "input_schema": {"parameters": {"type": "object"}, **extra}}]

    assert verify_tool_listing(server.listing(), server.keys()).verified == ("Math.Add@1.0.0",)


@given(TEXT)
def test_any_other_description_breaks_the_signature(description: str) -> None:
    assume(description != ADD["description"])
    server = tool_server()
    listing = server.listing()
    listing["items"][0]["description"] = description

    try:
        verify_tool_listing(listing, server.keys())
    except ToolListingError as error:
        assert list(error.problems) == ["Math.Add@1.0.0"]
    else:
        raise AssertionError("a changed description verified")
