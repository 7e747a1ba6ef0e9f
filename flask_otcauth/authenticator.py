"""Runs the enabled schemes over one request; Flask-free.

The rules of several credentials in one request live here and only here: credentials of
methods not enabled are ignored, every presented credential of an enabled method must verify
(an invalid one is never rescued by a valid one), and the first method in preference order
supplies the identity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .exceptions import AuthFailure, missing_credentials
from .identity import Identity, credential_fingerprint
from .schemes import AuthRequest, Scheme


class Authenticator:
    """Verifies the credentials of a request against the schemes of one app."""

    def __init__(self, schemes: Mapping[str, Scheme]) -> None:
        self._schemes = dict(schemes)

    def authenticate(
        self, request: AuthRequest, methods: tuple[str, ...], *, optional: bool, now: float
    ) -> Identity | None:
        """The caller's identity; ``None`` only for an anonymous caller when ``optional``."""
        identity: Identity | None = None
        for method in methods:
            scheme = self._schemes[method]
            credential = scheme.extract(request)
            if credential is None:
                continue
            try:
                verified = scheme.verify(credential, now)
            except AuthFailure as failure:
                raise dataclasses.replace(
                    failure, fingerprint=credential_fingerprint(credential)) from None
            if identity is None:
                identity = verified
        if identity is None and not optional:
            raise missing_credentials(
                " or ".join(self._schemes[method].credential_hint for method in methods))
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
        """One ``WWW-Authenticate`` challenge per method the view accepts (RFC 9110)."""
        return [self._schemes[method].challenge(failure) for method in methods]
