"""Scopes: what a verified caller may do, read from a key record or a token; Flask-free.

A scope is an RFC 6749 scope token (visible ASCII without space, ``"`` or ``\\``). Scopes are
opaque strings compared exactly, with one explicit exception so that a record does not have to
list every tool: a *granted* scope ending in ``:*`` or ``.*`` grants every scope starting with
what precedes the ``*`` (``tools:call:*`` grants ``tools:call:Math.Add``; ``tools:call:Math.*``
grants the Math toolkit only). Nothing is implied otherwise: ``tools:call`` does not grant
``tools:call:Math.Add``, and a bare ``*`` is an ordinary (useless) scope, never "everything".
Required scopes are always literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .refusals import INSUFFICIENT_SCOPE, AuthFailure

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_WILDCARD_ENDINGS: Final = (":*", ".*")
SCOPELESS_GRANTS: Final = "OTC_AUTH_SCOPELESS_GRANTS"
"""The setting that grants scopes to a credential carrying none: its name is also the
``scope_source`` of an identity whose scopes it granted."""


class ScopeError(ValueError):
    """A scope, or a claim meant to hold scopes, is not well-formed."""


def checked_scope(scope: object) -> str:
    """``scope`` if it is a valid scope token, else :class:`ScopeError`."""
    if not isinstance(scope, str) or _SCOPE_TOKEN.fullmatch(scope) is None:
        raise ScopeError(f"{scope!r} is not a scope: use visible ASCII without spaces, quotes "
                         "or backslashes (RFC 6749 scope-token)")
    return scope


def checked_scopes(scopes: Iterable[object]) -> frozenset[str]:
    return frozenset(checked_scope(scope) for scope in scopes)


def required_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Scopes a view requires: literal tokens, in the order given, for the error to list."""
    if isinstance(scopes, str):
        raise ScopeError(f"scopes must be a list of scopes, not the string {scopes!r}")
    checked = tuple(dict.fromkeys(checked_scope(scope) for scope in scopes))
    for scope in checked:
        if scope.endswith("*"):
            raise ScopeError(f"a required scope is literal; {scope!r} ends with a wildcard, which "
                             "only a granted scope may carry")
    return checked


def scopes_from_claims(claims: Mapping[str, Any]) -> frozenset[str] | None:
    """The scopes a JWT grants, or ``None`` when it has neither ``scope`` nor ``scp``.

    ``scope`` (a space-separated string: RFC 8693 section 4.2, RFC 9068) wins when a token has
    both: it is the registered claim. ``scp`` (a list, or a space-separated string as some
    identity providers send it) is read only when ``scope`` is absent. A token with neither
    carries no scope information (the OTC spec has no scopes), which is not the same as an
    empty ``scope``: the scheme grants it ``OTC_AUTH_SCOPELESS_GRANTS`` instead.
    """
    if "scope" in claims:
        value = claims["scope"]
        if not isinstance(value, str):
            raise ScopeError("the token's scope claim must be a space-separated string")
        return checked_scopes(value.split())
    if "scp" in claims:
        value = claims["scp"]
        if isinstance(value, str):
            return checked_scopes(value.split())
        if isinstance(value, list):
            return checked_scopes(value)
        raise ScopeError("the token's scp claim must be a list of strings")
    return None


def grants(granted: frozenset[str], required: str) -> bool:
    """Whether the ``granted`` scopes include ``required``, wildcards included."""
    if required in granted:
        return True
    for scope in granted:
        if scope.endswith(_WILDCARD_ENDINGS):
            prefix = scope[:-1]
            if len(required) > len(prefix) and required.startswith(prefix):
                return True
    return False


def scope_failure(
    granted: frozenset[str], all_of: tuple[str, ...], any_of: tuple[str, ...]
) -> AuthFailure | None:
    """The 403 for a caller holding ``granted``, or ``None`` when it may proceed.

    ``all_of`` must all be granted; of ``any_of`` (when not empty) at least one.
    """
    missing = tuple(scope for scope in all_of if not grants(granted, scope))
    if missing:
        return insufficient_scope(missing, "This request needs the scopes: " + " ".join(missing))
    if any_of and not any(grants(granted, scope) for scope in any_of):
        return insufficient_scope(any_of,
                                  "This request needs one of the scopes: " + " ".join(any_of))
    return None


def insufficient_scope(required: tuple[str, ...], hint: str) -> AuthFailure:
    return INSUFFICIENT_SCOPE.failure(hint + ".", required_scopes=required)


def scope_challenge(failure: AuthFailure, realm: str) -> str:
    """RFC 6750 section 3.1: the challenge of a 403, naming the scopes that would do."""
    return (f'Bearer realm="{realm}", error="{INSUFFICIENT_SCOPE.code}", '
            f'scope="{" ".join(failure.required_scopes)}"')
