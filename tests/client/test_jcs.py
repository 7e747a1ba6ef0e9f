"""RFC 8785 canonicalization against the RFC's own examples, and what it must refuse."""

from __future__ import annotations

import json
import struct

import pytest

from flask_otcauth.client.jcs import CanonicalizationError, canonicalize

# RFC 8785 appendix B: IEEE 754 bits (hex) and the JSON each must serialize to.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]
# RFC 8785 section 3.2.2: the input of the running example, as JSON text.
SECTION_3_2_2_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
SECTION_3_2_2_OUTPUT = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,'
                        '0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
# Section 3.2.4: the same output as UTF-8 bytes, as the RFC prints them.
SECTION_3_2_4_BYTES = bytes.fromhex("""
7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d
""")
# Section 3.2.3: properties named by characters whose UTF-16 order differs from code points.
SECTION_3_2_3_INPUT = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
SECTION_3_2_3_ORDER = ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
                       "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]


def _double(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbers_serialize_as_the_appendix_b_table(bits: str, expected: str) -> None:
    """RFC 8785 appendix B: ECMAScript's Number::toString for each sample double."""
    assert canonicalize(_double(bits)) == expected.encode()


def test_the_section_3_2_2_example_canonicalizes_as_printed() -> None:
    """RFC 8785 section 3.2.2: sorted properties, no whitespace, ES numbers and escapes."""
    assert canonicalize(json.loads(SECTION_3_2_2_INPUT)).decode() == SECTION_3_2_2_OUTPUT


def test_the_section_3_2_4_example_is_these_utf8_bytes() -> None:
    """RFC 8785 section 3.2.4: the canonical form is UTF-8, byte for byte as printed."""
    assert canonicalize(json.loads(SECTION_3_2_2_INPUT)) == SECTION_3_2_4_BYTES


def test_properties_sort_by_utf16_code_units_as_section_3_2_3_shows() -> None:
    """RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33."""
    canonical = json.loads(canonicalize(json.loads(SECTION_3_2_3_INPUT)))

    assert list(canonical.values()) == SECTION_3_2_3_ORDER


def test_nested_objects_are_sorted_and_arrays_keep_their_order() -> None:
    """RFC 8785 section 3.2.3: sorting applies at every level; array order is data."""
    assert canonicalize({"b": [3, 1, {"z": 1, "a": 2}], "a": {}}) == (
        b'{"a":{},"b":[3,1,{"a":2,"z":1}]}')


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_number_is_refused(value: float) -> None:
    """RFC 8785 appendix B note 3: NaN and Infinity have no JSON form."""
    with pytest.raises(CanonicalizationError):
        canonicalize({"n": value})


def test_a_lone_surrogate_is_refused() -> None:
    """RFC 8785 section 3.2.2.2 (I-JSON, RFC 7493 section 2.1): strings are Unicode."""
    with pytest.raises(CanonicalizationError, match="surrogate"):
        canonicalize({"text": "a\ud800b"})


def test_an_integer_past_2_53_is_read_as_the_nearest_double() -> None:
    """RFC 8785 section 3.2.2.3: numbers are IEEE 754 doubles; 2**53 + 1 is read as 2**53."""
    assert canonicalize(2**53 + 1) == b"9007199254740992"


def test_an_integer_beyond_every_double_is_refused() -> None:
    """RFC 8785 appendix D: what no double holds travels as a string."""
    with pytest.raises(CanonicalizationError, match="string"):
        canonicalize(10**400)


def test_an_integer_a_double_holds_exactly_serializes_as_that_double() -> None:
    """RFC 8785 appendix B row ~2**68: an exact large integer takes the double's spelling."""
    assert canonicalize(2**68) == b"295147905179352830000"


def test_a_property_name_that_is_not_a_string_is_refused() -> None:
    """RFC 8785 section 3.2.3: property names are strings."""
    with pytest.raises(CanonicalizationError, match="property name"):
        canonicalize({1: "one"})


def test_control_characters_use_lowercase_unicode_escapes() -> None:
    """RFC 8785 section 3.2.2.2: \\u001f, not \\u001F; \\t keeps its short form."""
    assert canonicalize("\x1f\t\x7f/") == b'"\\u001f\\t\x7f/"'
