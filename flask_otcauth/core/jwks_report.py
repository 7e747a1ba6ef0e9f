"""What ``flask otcauth check`` says of each ``oauth`` issuer: its keys as fetched now; Flask-free.

The check fetches what a worker would (discovery when no ``jwks_uri`` is given, then the JWK
Set) with a short timeout, and prints each key's ``kid``, ``kty`` and ``alg``, whether it is
usable, and how long the keys will be kept. It prints no key material: a public key is no
secret, but a set that holds private members is exactly the one whose members must not be
echoed, so members are never printed beyond those three names. An issuer that does not
answer is a warning (the check may run where the provider is not reachable); a set that would
be refused (no usable key, private members) is an error, since every token of that issuer
would then be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .jwks import (
    MAX_CACHE_SECONDS,
    PRIVATE_MEMBERS,
    Document,
    FetchError,
    discover_jwks_uri,
    fetch_json,
    usable_key,
)
from .methods.base import Report

CHECK_TIMEOUT_SECONDS: Final = 3


def _name(value: Any) -> str:
    """A member's kid, kty or alg as printed: a short string, or ``-``."""
    return value[:64] if isinstance(value, str) and value else "-"


def describe_issuer(
    report: Report, *, issuer: str, jwks_uri: str | None, jwks: Mapping[str, Any] | None,
    ttl: int, cooldown: int, timeout: float,
    fetch: Callable[[str, float], Document] = fetch_json,
) -> None:
    """Add the lines, warnings and errors of one issuer to ``report``."""
    where = f"oauth issuer {issuer}"
    timeout = min(timeout, CHECK_TIMEOUT_SECONDS)
    if jwks is not None:
        report.lines.append(f"{where}: static jwks (never fetched)")
        _describe_keys(report, where, jwks)
        return
    try:
        if jwks_uri is None:
            jwks_uri = discover_jwks_uri(issuer, timeout, fetch)
            report.lines.append(f"{where}: discovery found jwks_uri {jwks_uri}")
        document = fetch(jwks_uri, timeout)
    except FetchError as error:
        report.warnings.append(
            f"{where}: its keys could not be fetched ({error}); its tokens are refused until "
            "a worker's fetch succeeds")
        return
    if document.max_age is None:
        kept = f"{ttl} s (OTC_AUTH_OAUTH_JWKS_TTL: the answer has no Cache-Control max-age)"
    else:
        lifetime = min(max(document.max_age, cooldown), MAX_CACHE_SECONDS)
        kept = (f"{lifetime} s (Cache-Control max-age {document.max_age}, kept between the "
                f"cooldown {cooldown} s and {MAX_CACHE_SECONDS} s)")
    report.lines.append(f"{where}: jwks_uri {jwks_uri}, keys kept {kept}, unknown kids "
                        f"refetched at most every {cooldown} s")
    _describe_keys(report, where, document.body)


def _describe_keys(report: Report, where: str, document: Mapping[str, Any]) -> None:
    members = document.get("keys")
    if not isinstance(members, list):
        report.errors.append(f"{where}: the document is no JWK Set (no keys list): every "
                             "token of this issuer is refused")
        return
    private = [member for member in members
               if isinstance(member, dict) and PRIVATE_MEMBERS & member.keys()]
    if private:
        report.errors.append(
            f"{where}: the JWK Set holds private or symmetric key material in {len(private)} "
            "member(s): refused whole, every token of this issuer is refused; publish public "
            "keys only and rotate the exposed ones")
        return
    usable = 0
    for member in members:
        fields = member if isinstance(member, dict) else {}
        key = usable_key(member)
        usable += key is not None
        report.lines.append(
            f"  key kid={_name(fields.get('kid'))} kty={_name(fields.get('kty'))} "
            f"alg={_name(fields.get('alg'))}: " + ("usable" if key is not None else
                                                    "skipped (unknown kty, not for signing, "
                                                    "RSA under 2048 bits or not parseable)"))
    if not usable:
        report.errors.append(f"{where}: no usable key in its JWK Set: every token of this "
                             "issuer is refused")
