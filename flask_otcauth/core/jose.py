"""Strict parsing of a compact JWS before PyJWT sees it; Flask-free.

PyJWT verifies signatures well but is lenient about everything around them: it reads JSON with
the last duplicate key winning (``{"sub":"client-a","sub":"admin"}`` is admin), detects UTF-16,
accepts ``=`` padding and non-canonical base64 (two spellings of one token defeat caches,
limits and denylists), takes ``exp`` as a digit string and ignores header parameters we never
use (``jku``, ``x5u``, ``jwk``, ``kid``...). A token has exactly one spelling and one meaning
here, or it is refused before any key is touched.
"""

from __future__ import annotations

import binascii
import json
import math
import string
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from .refusals import INVALID_TOKEN, AuthFailure

_BASE64URL_ALPHABET: Final = (string.ascii_letters + string.digits + "-_").encode("ascii")
MAX_HEADER_LENGTH: Final = 512
NUMERIC_DATE_CLAIMS: Final = ("exp", "nbf", "iat")
STRING_CLAIMS: Final = ("sub", "iss", "jti")
SUPPORTED_TYPE: Final = "JWT"
# The registered claims whose type is checked: int for a NumericDate, str, list for aud.
_REGISTERED_CLAIM_TYPES: Final[dict[str, type]] = {
    **dict.fromkeys(NUMERIC_DATE_CLAIMS, int), **dict.fromkeys(STRING_CLAIMS, str), "aud": list}
_HEADER: Final = frozenset({"alg", "typ"})
_HEADER_WITH_KID: Final = frozenset({"alg", "typ", "kid"})
_TO_STANDARD_ALPHABET: Final = bytes.maketrans(b"-_", b"+/")


class _DuplicateMemberError(ValueError):
    """A JSON object names one member twice."""


class ParsedJws(NamedTuple):
    """A compact JWS read once: what the verifier needs, decoded exactly once."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes  # ASCII header.payload, what the signature covers
    signature: bytes


def refusal(hint: str) -> AuthFailure:
    return INVALID_TOKEN.failure(hint, method="jwt")


def check_compact_jws(
    token: str, *, algorithms: Iterable[str], allow_kid: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JOSE header and claims of ``token`` if it has exactly one reading, else a refusal."""
    parsed = parse_compact_jws(token, algorithms=frozenset(algorithms), allow_kid=allow_kid)
    return parsed.header, parsed.claims


def parse_compact_jws(
    token: str, *, algorithms: frozenset[str], allow_kid: bool = False,
    header_names: frozenset[str] | None = None, types: frozenset[str] | None = None,
    max_header_length: int = MAX_HEADER_LENGTH,
) -> ParsedJws:
    """``token`` read once, if it has exactly one reading, else a refusal.

    Checks shape and types only: the signature, ``exp``/``nbf`` against the clock, ``aud`` and
    ``iss`` stay with the verifier. ``allow_kid`` is for verifiers that select keys by id;
    ``header_names`` and ``types`` replace the allowed header parameters and ``typ`` values
    (the ``oauth`` method's: ``kid``, thumbprints, ``at+jwt``); ``max_header_length`` is for
    a header that carries a key (a DPoP proof's ``jwk``).
    """
    # Three non-empty base64url segments without padding: a JWE (five segments), an unsigned
    # token (empty signature), a padded one or anything with another character is refused.
    # Checked at C speed: junk is as long as a header may be, and a regular expression reads
    # it character by character.
    if token.find(".", 0, max_header_length + 1) < 0:  # read no further than a header may be
        raise refusal(not_a_jwt(token, max_header_length))
    encoded = token.encode("ascii") if token.isascii() else b""
    segments = encoded.split(b".")
    if (len(segments) != 3 or not all(segments)
            or encoded.translate(None, _BASE64URL_ALPHABET) != b".."):
        if "," in token:  # WSGI servers join repeated header lines with ", "
            raise refusal("The Authorization header was sent more than once.")
        raise refusal(not_a_jwt(token, max_header_length))
    encoded_header, encoded_claims, encoded_signature = segments
    header = _json_object(_segment(encoded_header, "header"), "header")
    signature = _segment(encoded_signature, "signature")
    _check_header(header, algorithms,
                  header_names or (_HEADER_WITH_KID if allow_kid else _HEADER), types)
    claims = _json_object(_segment(encoded_claims, "payload"), "payload")
    check_claim_types(claims)
    return ParsedJws(header, claims, encoded[:len(encoded_header) + 1 + len(encoded_claims)],
                     signature)


def not_a_jwt(token: str, max_header_length: int = MAX_HEADER_LENGTH) -> str:
    """What was received instead of a JWT, by its shape only: never one of its characters, as
    it may be a key sent in the wrong header (an OXP client's placeholder bearer, say)."""
    count = token.count(".") + 1
    first = token.find(".")
    shape = f"{len(token)} characters in {count} dot-separated segment"
    shape += "" if count == 1 else "s"
    if (first if first >= 0 else len(token)) > max_header_length:
        shape += f", the first longer than the {max_header_length} a JWS header may be"
    elif count == 3 and (first == 0 or ".." in token or token.endswith(".")):
        shape += ", one of them empty (an unsigned token has an empty signature)"
    elif count == 3:
        shape += ", with characters outside base64url (or = padding)"
    return (f"Not a JWT: received {shape}. A JWT is three base64url segments (no padding) "
            "separated by dots: header.payload.signature; an API key goes in its own header.")


def check_claim_types(claims: dict[str, Any]) -> None:
    """RFC 7519 types for the registered claims we read, with no coercion of any kind.

    JSON gives exact types, so ``type(...) is`` is the check: ``bool`` is no number here, and
    an integer is finite however long (``math.isfinite`` would overflow on 10**400).
    """
    for name, value in claims.items():  # one pass over the few claims a token has
        kind = _REGISTERED_CLAIM_TYPES.get(name)
        if kind is None:
            continue
        if kind is int:  # a NumericDate
            if type(value) is not int and (type(value) is not float or not math.isfinite(value)):
                raise refusal(f"The token's {name} must be a number of seconds since the epoch.")
        elif kind is str:
            if type(value) is not str:
                raise refusal(f"The token's {name} must be a string.")
        elif type(value) is not str and not (
                type(value) is list and all(type(item) is str for item in value)):
            raise refusal("The token's aud must be a string or a list of strings.")


def _segment(encoded: bytes, name: str) -> bytes:
    """Decode one base64url segment, refusing any spelling but the canonical one."""
    standard = (encoded + b"=" * (-len(encoded) % 4)).translate(_TO_STANDARD_ALPHABET)
    try:
        raw = binascii.a2b_base64(standard)  # the alphabet is checked already
    except binascii.Error:
        raise refusal(f"The token's {name} is not valid base64url.") from None
    # Unused low bits of the last character must be zero: otherwise several strings decode to
    # the same bytes, and one signed token would have many spellings.
    if binascii.b2a_base64(raw, newline=False) != standard:
        raise refusal(f"The token's {name} is not canonical base64url.")
    return raw


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _DuplicateMemberError
    return members


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity, -Infinity are not JSON


# Built once: json.loads with hooks builds a decoder (and its scanner) on every call.
_STRICT_JSON: Final = json.JSONDecoder(object_pairs_hook=_reject_duplicates,
                                       parse_constant=_reject_constant)


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    """Strict UTF-8 JSON (RFC 8259): no BOM, no UTF-16, no duplicate members, no NaN."""
    try:
        value = _STRICT_JSON.decode(raw.decode("utf-8"))
    except _DuplicateMemberError:
        raise refusal(f"The token's {name} names a member twice.") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise refusal(f"The token's {name} is not a UTF-8 JSON object.") from None
    if type(value) is not dict:
        raise refusal(f"The token's {name} is not a UTF-8 JSON object.")
    return value


def _check_header(header: dict[str, Any], algorithms: frozenset[str],
                  supported: frozenset[str], types: frozenset[str] | None) -> None:
    if not header.keys() <= supported:
        if "crit" in header:
            raise refusal("The token's header has crit: no critical extensions are supported.")
        # Parameter names only, never values, and only the known ones: the rest is the client's.
        raise refusal("The token's header may only carry " + ", ".join(sorted(supported))
                      + f"; it has {len(header.keys() - supported)} other parameter(s).")
    algorithm = header.get("alg")
    if type(algorithm) is not str or algorithm not in algorithms:
        raise refusal("The token must be signed with " + " or ".join(sorted(algorithms)) + ".")
    if "typ" in header:
        if types is None:
            if header["typ"] != SUPPORTED_TYPE:
                raise refusal(f'The token\'s typ must be "{SUPPORTED_TYPE}" or absent.')
        elif type(header["typ"]) is not str or header["typ"] not in types:
            raise refusal("The token's typ must be " + " or ".join(sorted(types)) + ".")
    if "kid" in header and type(header["kid"]) is not str:
        raise refusal("The token's kid must be a string.")
