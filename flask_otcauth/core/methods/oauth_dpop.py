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
from typing import Final, Protocol

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
DPOP_ERRORS: Final = frozenset({"invalid_token", "invalid_dpop_proof", "use_dpop_nonce"})
"""The codes a DPoP challenge carries as its ``error`` (RFC 9449 section 7.1)."""


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


class ProofCarrier(Protocol):
    """A credential with its ``DPoP`` header: :class:`DPoPCredential`, or an OTC credential
    with its proof (:class:`~flask_otcauth.core.dpop_binding.ProvenCredential`)."""

    @property
    def token(self) -> str | None: ...
    @property
    def proof(self) -> str | None: ...
    @property
    def method(self) -> str: ...
    @property
    def uri(self) -> str: ...


def shared_verifier(settings: DPoPSettings, storage: Storage) -> DPoPVerifier:
    """A method's proof verifier, its seen proofs kept in the shared storage, where every
    method's proofs are: a proof spent with one credential is spent for all."""
    return DPoPVerifier(settings, ReplayStore(storage, max_bytes=settings.replay_memory_bytes))


def proven_identity(verifier: DPoPVerifier, credential: ProofCarrier, now: float,
                    identity_of: Callable[[], Identity],
                    unbound: Callable[[], AuthFailure]) -> Identity:
    """The identity of a bound credential with a valid proof, the steps in the order RFC 9449
    section 4.3 needs: the proof first (no token check for a bad one), then the credential
    (``identity_of``), its ``cnf.jkt`` against the proof's key (``unbound``'s refusal when it
    has none), and the proof's ``jti`` spent last, once everything else passed, so a refused
    request spends nothing. A refusal is marked as the DPoP scheme's, with the audit
    fingerprint of the token the proof travels with (when there is one)."""
    try:
        proof = verifier.check(credential.proof, method=credential.method, uri=credential.uri,
                               token=credential.token, now=now)
        identity = identity_of()
        jkt = bound_thumbprint(identity)
        if jkt is None:
            raise unbound()
        verifier.bind(proof, jkt)
        verifier.spend(proof, now)
    except AuthFailure as failure:
        failure.scheme = DPOP
        token = credential.token
        if failure.fingerprint is None and token is not None and refusals_audited():
            failure.fingerprint = credential_fingerprint(token)
        raise
    return identity


class DPoPBinding:
    """The DPoP side of one app's ``oauth`` scheme: verifier, Bearer rules, challenges."""

    def __init__(self, settings: DPoPSettings, storage: Storage, metadata_url: str) -> None:
        self.settings = settings
        self.verifier = shared_verifier(settings, storage)
        self._challenge = (f'{DPOP} algs="{" ".join(settings.algorithms)}", '
                           f'resource_metadata="{metadata_url}"')

    def verify(self, credential: DPoPCredential, now: float,
               token_identity: Callable[[str, float], Identity]) -> Identity:
        """The identity of a DPoP-bound token with a valid proof (:func:`proven_identity`)."""
        return proven_identity(self.verifier, credential, now,
                               lambda: token_identity(credential.token, now), _unbound_token)

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
        if (failure is not None and failure.code in DPOP_ERRORS
                and (failure.scheme == DPOP or (required and failure.method == "oauth"))):
            description = quoted_string_content(failure.developer_message)
            value += f', error="{failure.code}", error_description="{description}"'
        return value

    def success_headers(self, now: float) -> tuple[tuple[str, str], ...]:
        """A fresh nonce on an accepted request when nonces are on (RFC 9449 section 9.1)."""
        nonces = self.verifier.nonces
        return () if nonces is None else (("DPoP-Nonce", nonces.nonce(now)),)


def _unbound_token() -> AuthFailure:
    return refusal("The token is not bound to a DPoP key (it has no cnf.jkt): ask the "
                   "authorization server for a DPoP-bound token.")
