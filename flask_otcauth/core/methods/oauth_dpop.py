"""How the ``oauth`` method reads ``Authorization: DPoP``: the credential, the binding, the
challenge (RFC 9449 sections 7 and 9).

A DPoP request carries the token and its proof together, with the method and target URI the
proof must name, so the scheme's ``verify`` has everything in one value. The binding is read
from the verified token's claims, JWT or introspection answer alike (``cnf.jkt``, RFC 9449
section 6): a bound token presented as Bearer is refused (section 7.2), and so is an unbound
one presented as DPoP, which would prove nothing about its holder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from ..audit import refusals_audited
from ..dpop import DPoPVerifier
from ..dpop_config import DPoPSettings
from ..dpop_replay import ReplayStore
from ..identity import Identity, credential_fingerprint
from ..refusals import AuthFailure
from ..storage import Storage
from .base import quoted_string_content
from .oauth_claims import refusal

DPOP: Final = "DPoP"
_OWN_ERRORS: Final = frozenset({"invalid_token", "invalid_dpop_proof", "use_dpop_nonce"})


@dataclass(frozen=True, slots=True)
class DPoPCredential:
    """``Authorization: DPoP <token>`` with its ``DPoP`` header (``None`` when absent) and the
    request the proof must be for."""

    token: str
    proof: str | None
    method: str
    uri: str


def bound_thumbprint(identity: Identity) -> object:
    """The token's ``cnf.jkt``, or ``None`` for a token bound to no DPoP key."""
    cnf = identity.claims.get("cnf")
    return cnf.get("jkt") if isinstance(cnf, Mapping) else None


class DPoPBinding:
    """The DPoP side of one app's ``oauth`` scheme: verifier, Bearer rules, challenges."""

    def __init__(self, settings: DPoPSettings, storage: Storage, metadata_url: str) -> None:
        self.settings = settings
        self.verifier = DPoPVerifier(
            settings, ReplayStore(storage, max_bytes=settings.replay_memory_bytes))
        self._challenge = (f'{DPOP} algs="{" ".join(settings.algorithms)}", '
                           f'resource_metadata="{metadata_url}"')

    def verify(self, credential: DPoPCredential, now: float,
               token_identity: Callable[[str, float], Identity]) -> Identity:
        """The identity of a DPoP-bound token with a valid proof; the proof's ``jti`` is spent
        last, once everything else passed."""
        verifier = self.verifier
        try:
            proof = verifier.check(credential.proof, method=credential.method,
                                   uri=credential.uri, token=credential.token, now=now)
            identity = token_identity(credential.token, now)
            jkt = bound_thumbprint(identity)
            if jkt is None:
                raise refusal("The token is not bound to a DPoP key (it has no cnf.jkt): ask "
                              "the authorization server for a DPoP-bound token.")
            verifier.bind(proof, jkt)
            verifier.spend(proof, now)
        except AuthFailure as failure:
            failure.scheme = DPOP
            if failure.fingerprint is None and refusals_audited():  # the token's, as Bearer's
                failure.fingerprint = credential_fingerprint(credential.token)
            raise
        return identity

    def check_bearer(self, identity: Identity) -> None:
        """Bearer is refused for a bound token (RFC 9449 section 7.2), and for every token when
        DPoP is required."""
        if bound_thumbprint(identity) is not None:
            raise refusal("The token is DPoP-bound (cnf.jkt): send it as Authorization: DPoP "
                          "with a DPoP proof, never as Bearer.")
        if self.settings.required:
            raise refusal("This server requires DPoP-bound tokens: send Authorization: DPoP "
                          "<token> with a DPoP proof header.")

    def challenge(self, failure: AuthFailure | None, *, required: bool) -> str:
        """The DPoP challenge; it carries the error when the failure was of a DPoP request
        (or, DPoP being required, of any request to this method)."""
        value = self._challenge
        if failure is not None and failure.required_scopes:
            value += f', scope="{" ".join(failure.required_scopes)}"'
        if (failure is not None and failure.code in _OWN_ERRORS
                and (failure.scheme == DPOP or (required and failure.method == "oauth"))):
            description = quoted_string_content(failure.developer_message)
            value += f', error="{failure.code}", error_description="{description}"'
        return value

    def success_headers(self, now: float) -> tuple[tuple[str, str], ...]:
        """A fresh nonce on an accepted request when nonces are on (RFC 9449 section 9.1)."""
        nonces = self.verifier.nonces
        return () if nonces is None else (("DPoP-Nonce", nonces.nonce(now)),)
