"""Checking a signed tool listing: every signature, then what changed since a pinned listing.

A platform lists a server's tools and lets its model act on their descriptions. It should pin
the listing it reviewed and, on every later listing, learn what was added, removed or changed,
and above all which definition changed while its version stayed the same: the rug pull that a
signature alone cannot reveal (the server signs whatever it now serves), but a comparison of
two signed listings does. Free of the server and of any HTTP client: the caller fetches
``GET /tools`` and the key set (``/.well-known/otc-tool-keys.json``) as it likes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from jwt import PyJWK, PyJWTError
from jwt.api_jws import PyJWS

from .jcs import CanonicalizationError, canonicalize
from .jwk import algorithm_of, jwk_thumbprint

__all__ = ["ToolListingError", "ToolListingReport", "verify_tool_listing"]

SIGNATURE_TYPE: Final = "otc-tool-definition+jws"
_HEADER_MEMBERS: Final = frozenset({"alg", "b64", "crit", "iat", "kid", "typ"})


class ToolListingError(ValueError):
    """The listing cannot be trusted: ``problems`` maps each tool id (or ``"listing"``) to why.

    Raised for the whole listing, not per tool: a server that serves one forged definition
    cannot be trusted for the others.
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{where}: {why}" for where, why in self.problems.items()))


@dataclass(frozen=True)
class ToolListingReport:
    """What a verified listing holds, against the pinned one (all empty without a pin).

    Tools are ``Toolkit.Name@x.y.z`` (the definition's qualified name and ``version``).
    ``changed`` names the qualified names listed in both whose definitions differ, a new
    version included; ``rug_pulls`` the tools whose definition changed while the version
    stayed the same, which a platform should refuse to call until a person has reviewed them.
    """

    verified: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    rug_pulls: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)


def verify_tool_listing(
    listing: Mapping[str, Any], jwks: Mapping[str, Any],
    pinned: Mapping[str, Any] | None = None,
) -> ToolListingReport:
    """Verify every item of ``listing`` (a parsed ``GET /tools`` body) against the server's
    key set ``jwks``, then compare with ``pinned``, an earlier listing this caller trusted.

    Raises :class:`ToolListingError` when an item has no signature, a signature does not
    verify, or a key is unknown or filed under another key's thumbprint.
    """
    items = _items(listing, "listing")
    signatures = listing.get("signatures")
    if not isinstance(signatures, Mapping):
        raise ToolListingError({"listing": 'no "signatures" object beside the items: is '
                                "OTC_AUTH_TOOL_SIGNING on at the server?"})
    keys = _keys(jwks)
    problems: dict[str, str] = {}
    for tool_id, definition in items.items():
        problem = _problem(definition, signatures.get(tool_id), keys)
        if problem is not None:
            problems[tool_id] = problem
    if problems:
        raise ToolListingError(problems)
    verified = tuple(items)
    if pinned is None:
        return ToolListingReport(verified)
    return _compare(_by_tool(_items(pinned, "pinned listing")), _by_tool(items), verified)


def _items(listing: Mapping[str, Any], what: str) -> dict[str, bytes]:
    """``{id: canonical bytes}`` of a listing's items, refusing what has no single meaning."""
    items = listing.get("items") if isinstance(listing, Mapping) else None
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise ToolListingError({what: 'no "items" array'})
    found: dict[str, bytes] = {}
    for index, item in enumerate(items):
        tool_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(tool_id, str) or not isinstance(item.get("version"), str):
            raise ToolListingError({what: f"item {index} has no string id and version"})
        if tool_id in found:
            raise ToolListingError({what: f"{tool_id} is listed twice"})
        try:
            found[tool_id] = canonicalize(item)
        except CanonicalizationError as error:
            raise ToolListingError({tool_id: f"not I-JSON: {error}"}) from None
    return found


def _keys(jwks: Mapping[str, Any]) -> dict[str, tuple[PyJWK, str]]:
    """The key set's usable keys by ``kid``, each ``kid`` checked against its thumbprint."""
    members = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(members, Sequence) or isinstance(members, (str, bytes)):
        raise ToolListingError({"keys": 'the key set has no "keys" array'})
    keys: dict[str, tuple[PyJWK, str]] = {}
    for member in members:
        if not isinstance(member, Mapping):
            continue
        try:
            algorithm = algorithm_of(member)
            thumbprint = jwk_thumbprint(member)
        except ValueError:
            continue  # a key of another kind signs no tool definition
        if member.get("kid") != thumbprint:
            raise ToolListingError({"keys": f"a key is filed under kid {member.get('kid')!r}, "
                                    f"but its thumbprint is {thumbprint}"})
        try:
            keys[thumbprint] = (PyJWK(dict(member), algorithm), algorithm)
        except PyJWTError:
            continue
    return keys


def _problem(definition: bytes, signature: object, keys: Mapping[str, tuple[PyJWK, str]]
             ) -> str | None:
    if not isinstance(signature, str):
        return "no signature"
    protected, dot, rest = signature.partition(".")
    if not dot or not rest.startswith("."):
        return "the signature is not a detached JWS (<protected>..<signature>)"
    header = _header(protected)
    if header is None:
        return "the signature's protected header is not a JSON object"
    if (header.get("b64") is not False or header.get("crit") != ["b64"]
            or header.get("typ") != SIGNATURE_TYPE or set(header) - _HEADER_MEMBERS):
        return ('the protected header is not {"alg", "b64": false, "crit": ["b64"], "iat", '
                f'"kid", "typ": "{SIGNATURE_TYPE}"}}')
    known = keys.get(header.get("kid"))  # type: ignore[arg-type]
    if known is None:
        return f"signed with kid {header.get('kid')!r}, which the key set does not hold"
    key, algorithm = known
    if header.get("alg") != algorithm:
        return f"the header says alg {header.get('alg')!r}; this key signs {algorithm}"
    try:
        PyJWS(algorithms=[algorithm]).decode_complete(
            signature, key.key, algorithms=[algorithm], detached_payload=definition)
    except PyJWTError:
        return "the signature does not match the definition"
    return None


def _header(protected: str) -> dict[str, Any] | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    except (binascii.Error, ValueError):
        return None
    return header if isinstance(header, dict) else None


def _by_tool(items: Mapping[str, bytes]) -> dict[str, bytes]:
    """Keyed by ``Toolkit.Name@version`` read from the definition, whatever its id says."""
    keyed: dict[str, bytes] = {}
    for tool_id, definition in items.items():
        version = json.loads(definition)["version"]
        keyed[f"{tool_id.partition('@')[0]}@{version}"] = definition
    return keyed


def _compare(before: Mapping[str, bytes], after: Mapping[str, bytes],
             verified: tuple[str, ...]) -> ToolListingReport:
    def name(tool: str) -> str:
        return tool.rpartition("@")[0]

    rug_pulls = sorted(tool for tool in before.keys() & after.keys()
                       if before[tool] != after[tool])
    names_before = {name(tool) for tool in before}
    names_after = {name(tool) for tool in after}
    changed = sorted(tool_name for tool_name in names_before & names_after
                     if {t: d for t, d in before.items() if name(t) == tool_name}
                     != {t: d for t, d in after.items() if name(t) == tool_name})
    return ToolListingReport(
        verified=verified, added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())), changed=tuple(changed),
        rug_pulls=tuple(rug_pulls))
