"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value.

A signature over JSON is only checkable when signer and verifier serialize the value to the
same bytes, whatever their language: key order, whitespace, string escapes and number spelling
must all be fixed. JCS fixes them the way ECMAScript's ``JSON.stringify`` does, with properties
sorted by their UTF-16 code units, so a JavaScript verifier gets our bytes with the npm
``canonicalize`` package. It lives in the client (which imports nothing of the server) so that
the server's signer and the client's verifier share this one implementation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

__all__ = ["CanonicalizationError", "canonicalize"]

# RFC 8785 section 3.2.2.2: the two-character escapes, then \u00xx for other controls.
_SHORT_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                         "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE: Final = re.compile(r'["\\\x00-\x1f]')
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_MAX_EXACT_INTEGER: Final = 2**53


class CanonicalizationError(ValueError):
    """The value is not I-JSON (RFC 7493), so it has no canonical form.

    Raised rather than approximated: bytes that another implementation would spell otherwise
    make every signature over them unverifiable there.
    """


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (dicts, lists, str, int, float, bool,
    None), or :class:`CanonicalizationError` for what I-JSON does not allow."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):
        parts.append(_integer(value))
    elif isinstance(value, float):
        parts.append(number(value))
    elif isinstance(value, Mapping):
        _write_object(value, parts)
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value.")


def _write_object(value: Mapping[Any, Any], parts: list[str]) -> None:
    for name in value:
        if not isinstance(name, str):
            raise CanonicalizationError(f"A property name is a {type(name).__name__}, not a "
                                        "string.")
    parts.append("{")
    # Section 3.2.3: sorted by UTF-16 code units, which big-endian UTF-16 bytes compare as.
    # surrogatepass so that a lone surrogate reaches _string, which names the problem.
    for index, name in enumerate(sorted(value, key=lambda key: key.encode(
            "utf-16-be", "surrogatepass"))):
        if index:
            parts.append(",")
        parts.append(_string(name))
        parts.append(":")
        _write(value[name], parts)
    parts.append("}")


def _string(text: str) -> str:
    if _LONE_SURROGATE.search(text) is not None:
        raise CanonicalizationError("A string holds a lone surrogate, which is not Unicode "
                                    "text (RFC 7493 section 2.1).")
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    return _SHORT_ESCAPES.get(character) or f"\\u{ord(character):04x}"


def _integer(value: int) -> str:
    """An integer is read as the nearest IEEE 754 double, as every JSON parser that follows
    I-JSON reads it (RFC 8785 section 3.2.2.3): so 2**53 + 1 canonicalizes as 2**53 here and
    in a JavaScript verifier alike, and a large float that was served as digits (1e17 as
    ``100000000000000000``) and parsed back as a Python int keeps its canonical form."""
    if abs(value) <= _MAX_EXACT_INTEGER:
        return str(value)
    try:
        return number(float(value))
    except OverflowError:
        raise CanonicalizationError(f"The integer {value} exceeds every IEEE 754 double: send "
                                    "it as a string (RFC 8785 appendix D).") from None


def number(value: float) -> str:
    """ECMAScript's Number::toString of a double (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalizationError(f"{value} is not a JSON number.")
    if value == 0:
        return "0"  # minus zero too
    sign = "-" if value < 0 else ""
    # repr is the shortest decimal that reads back as the same double, as ECMAScript's is.
    decimal = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, decimal.digits))
    return sign + _es_notation(digits, len(digits) + int(decimal.exponent))


def _es_notation(digits: str, point: int) -> str:
    """Steps 6 to 10 of ECMAScript's Number::toString, for ``0.digits * 10**point``."""
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    mantissa = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"
