"""Runs the enabled schemes over one request; Flask-free.

The rules of several credentials in one request live here and only here. The request's own
headers select the methods (signature headers: hmac, an API key header: api_key,
``Authorization: Bearer``: jwt, or oauth for a token whose header names an asymmetric alg: a
token reaches one of them, never both); credentials of methods not enabled are ignored; every
presented credential of an enabled method must verify (an invalid one is never rescued by a
valid one, nor silently skipped); and when several are presented, the first method in
preference order (``OTC_AUTH_METHODS``) supplies the identity. Schemes that spend their
credential (an hmac nonce) are verified after the others, so a refusal elsewhere leaves the
nonce unspent.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Final

from .audit import refusals_audited
from .identity import Identity, credential_fingerprint
from .methods.base import AuthRequest, Scheme
from .refusals import MISSING_CREDENTIALS, AuthFailure

_MAX_FINGERPRINTED: Final = 8192  # the longest credential a scheme accepts (a JWT)


class Authenticator:
    """Verifies the credentials of a request against the schemes of one app."""

    def __init__(self, schemes: Mapping[str, Scheme]) -> None:
        self._schemes = dict(schemes)

    def authenticate(
        self, request: AuthRequest, methods: tuple[str, ...], *, optional: bool, now: float
    ) -> Identity | None:
        """The caller's identity; ``None`` only for an anonymous caller when ``optional``."""
        presented = []
        for method in methods:
            scheme = self._schemes[method]
            credential = scheme.extract(request)
            if credential is not None:
                presented.append((scheme, credential))
        if len(presented) > 1:
            presented = _routed(presented)
        if len(presented) == 1:  # the usual request: nothing to order, and no call to spare
            scheme, credential = presented[0]
            try:
                identity: Identity | None = scheme.verify(credential, now)
            except AuthFailure as failure:
                _name_the_credential(failure, credential)
                raise
        else:
            verified = {
                scheme.method: _verified(scheme, credential, now)
                for scheme, credential in sorted(  # stable: preference order within each group
                    presented, key=lambda item: getattr(item[0], "spends_credential", False))
            }
            identity = verified[presented[0][0].method] if presented else None
        if identity is None and not optional:
            raise MISSING_CREDENTIALS.failure("Send one of: " + " or ".join(
                self._schemes[method].credential_hint for method in methods) + ".")
        return identity

    def presents_credentials(self, request: AuthRequest, methods: tuple[str, ...]) -> bool:
        """Whether the request carries a credential of one of ``methods``, valid or not."""
        for method in methods:
            try:
                if self._schemes[method].extract(request) is not None:
                    return True
            except AuthFailure:
                return True  # there, only malformed
        return False

    def challenges(self, methods: tuple[str, ...], failure: AuthFailure | None) -> list[str]:
        """One ``WWW-Authenticate`` challenge per method the view accepts (RFC 9110), and the
        further ones of a method that reads several auth schemes (``more_challenges``: oauth's
        DPoP beside its Bearer)."""
        values = []
        for method in methods:
            scheme = self._schemes[method]
            values.append(scheme.challenge(failure))
            more = getattr(scheme, "more_challenges", None)
            if more is not None:  # one DPoP challenge for the methods that share it
                values.extend(value for value in more(failure) if value not in values)
        return values

    def success_headers(self, identity: Identity, now: float) -> list[tuple[str, str]]:
        """The response headers of an accepted request that its schemes ask for (a DPoP
        nonce); asked only when :attr:`adds_headers`."""
        headers: list[tuple[str, str]] = []
        for scheme in self._schemes.values():
            own = getattr(scheme, "success_headers", None)
            if own is not None:
                headers.extend(own(identity, now))
        return headers

    @property
    def adds_headers(self) -> bool:
        """Whether a scheme may add headers to an accepted request's response."""
        return any(getattr(scheme, "adds_success_headers", False)
                   for scheme in self._schemes.values())

    def scope_challenge(self, method: str, failure: AuthFailure) -> str | None:
        """The 403 challenge of the scheme that verified the caller, if it has its own (the
        ``oauth`` one names its metadata); ``None`` for the generic one."""
        own = getattr(self._schemes.get(method), "scope_challenge", None)
        return str(own(failure)) if own is not None else None


def _routed(presented: list[tuple[Scheme, Any]]) -> list[tuple[Scheme, Any]]:
    """One token, one method: where two schemes read the same bearer token (``jwt`` and
    ``oauth``), the one with ``routes_token`` decides from the token's header whose it is, and
    only that scheme verifies it."""
    kept = presented
    for scheme, credential in presented:
        routes = getattr(scheme, "routes_token", None)
        token = _routed_token(credential)
        if routes is None or token is None:
            continue
        sharing = [item for item in kept
                   if item[0] is not scheme and _same_token(_routed_token(item[1]), token)]
        if not sharing:
            continue
        if routes(token):
            kept = [item for item in kept if item not in sharing]
        else:
            kept = [item for item in kept if item[0] is not scheme]
    return kept


def _routed_token(credential: Any) -> str | None:
    """The token a credential carries, Bearer (a ``str``) or DPoP (its ``token``)."""
    if isinstance(credential, str):
        return credential
    token = getattr(credential, "token", None)
    return token if isinstance(token, str) else None


def _same_token(other: str | None, token: str) -> bool:
    """Whether two schemes read the same token. Both come from the caller's own request, but a
    token is a secret: it is compared in constant time, as every credential is."""
    return other is not None and hmac.compare_digest(
        other.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass"))


def _verified(scheme: Scheme, credential: Any, now: float) -> Identity:
    """The scheme's verdict; the refusal of a key or token carries its audit fingerprint."""
    try:
        return scheme.verify(credential, now)
    except AuthFailure as failure:
        _name_the_credential(failure, credential)
        raise


def _name_the_credential(failure: AuthFailure, credential: Any) -> None:
    """Give a refused key or token its audit fingerprint; a signed request has none (its keyid
    is no secret, its signature no name)."""
    if (isinstance(credential, str) and len(credential) <= _MAX_FINGERPRINTED
            and refusals_audited()):
        # Only when someone would read it, and never for junk longer than any credential
        # (hashing a megabyte costs a millisecond): refusing junk stays cheap.
        failure.fingerprint = credential_fingerprint(credential)
