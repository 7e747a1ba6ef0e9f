"""Strict parsing of a compact JWS before PyJWT sees it; Flask-free.

PyJWT verifies signatures well but is lenient about everything around them: it reads JSON with
the last duplicate key winning (``{"sub":"client-a","sub":"admin"}`` is admin), detects UTF-16,
accepts ``=`` padding and non-canonical base64 (two spellings of one token defeat caches,
limits and denylists), takes ``exp`` as a digit string and ignores header parameters we never
use (``jku``, ``x5u``, ``jwk``, ``kid``...). A token has exactly one spelling and one meaning
here, or it is refused before any key is touched.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable
from typing import Any, Final

from ..exceptions import AuthFailure, invalid_credential

CODE: Final = "invalid_token"
MESSAGE: Final = "The bearer token is not valid."
# Three non-empty base64url segments without padding: header.payload.signature. A JWE (five
# segments), an unsigned token (empty signature) or a padded one does not match.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_HEADER_LENGTH: Final = 512
NUMERIC_DATE_CLAIMS: Final = ("exp", "nbf", "iat")
STRING_CLAIMS: Final = ("sub", "iss", "jti")
SUPPORTED_TYPE: Final = "JWT"


class _DuplicateMemberError(ValueError):
    """A JSON object names one member twice."""


def refusal(hint: str) -> AuthFailure:
    return invalid_credential("jwt", CODE, MESSAGE, hint)


def check_compact_jws(
    token: str, *, algorithms: Iterable[str], allow_kid: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JOSE header and claims of ``token`` if it has exactly one reading, else a refusal.

    Checks shape and types only: the signature, ``exp``/``nbf`` against the clock, ``aud`` and
    ``iss`` stay with the verifier. ``allow_kid`` is for verifiers that select keys by id.
    """
    if _COMPACT_JWS.fullmatch(token) is None:
        raise refusal("The token must be a JWS in compact serialization: three base64url "
                      "segments (no padding) separated by dots.")
    encoded_header, encoded_claims, encoded_signature = token.split(".")
    if len(encoded_header) > MAX_HEADER_LENGTH:
        raise refusal(f"The token's header is longer than {MAX_HEADER_LENGTH} characters.")
    header = _json_object(_segment(encoded_header, "header"), "header")
    _segment(encoded_signature, "signature")
    _check_header(header, frozenset(algorithms), allow_kid)
    claims = _json_object(_segment(encoded_claims, "payload"), "payload")
    check_claim_types(claims)
    return header, claims


def check_claim_types(claims: dict[str, Any]) -> None:
    """RFC 7519 types for the registered claims we read, with no coercion of any kind."""
    for name in NUMERIC_DATE_CLAIMS:
        if name in claims:
            value = claims[name]
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value)):
                raise refusal(f"The token's {name} must be a number of seconds since the epoch.")
    for name in STRING_CLAIMS:
        if name in claims and not isinstance(claims[name], str):
            raise refusal(f"The token's {name} must be a string.")
    if "aud" in claims:
        audience = claims["aud"]
        if not isinstance(audience, str) and not (
                isinstance(audience, list) and all(isinstance(item, str) for item in audience)):
            raise refusal("The token's aud must be a string or a list of strings.")


def _segment(encoded: str, name: str) -> bytes:
    """Decode one base64url segment, refusing any spelling but the canonical one."""
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise refusal(f"The token's {name} is not valid base64url.") from None
    # Unused low bits of the last character must be zero: otherwise several strings decode to
    # the same bytes, and one signed token would have many spellings.
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != encoded.encode("ascii"):
        raise refusal(f"The token's {name} is not canonical base64url.")
    return raw


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _DuplicateMemberError
    return members


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity, -Infinity are not JSON


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    """Strict UTF-8 JSON (RFC 8259): no BOM, no UTF-16, no duplicate members, no NaN."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_reject_duplicates,
                           parse_constant=_reject_constant)
    except _DuplicateMemberError:
        raise refusal(f"The token's {name} names a member twice.") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise refusal(f"The token's {name} is not a UTF-8 JSON object.") from None
    if not isinstance(value, dict):
        raise refusal(f"The token's {name} is not a UTF-8 JSON object.")
    return value


def _check_header(header: dict[str, Any], algorithms: frozenset[str], allow_kid: bool) -> None:
    if "crit" in header:
        raise refusal("The token's header has crit: no critical extensions are supported.")
    supported = {"alg", "typ", "kid"} if allow_kid else {"alg", "typ"}
    unsupported = sorted(name for name in header if name not in supported)
    if unsupported:
        # Parameter names only, never values, and only the known ones: the rest is the client's.
        raise refusal("The token's header may only carry " + ", ".join(sorted(supported))
                      + f"; it has {len(unsupported)} other parameter(s).")
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in algorithms:
        raise refusal("The token must be signed with " + " or ".join(sorted(algorithms)) + ".")
    if "typ" in header and header["typ"] != SUPPORTED_TYPE:
        raise refusal(f'The token\'s typ must be "{SUPPORTED_TYPE}" or absent.')
    if "kid" in header and not isinstance(header["kid"], str):
        raise refusal("The token's kid must be a string.")
