"""DPoP (RFC 9449) for the OTC credentials: HS256 tokens, API keys and hmac clients; Flask-free.

The operator names the methods in ``OTC_AUTH_DPOP_METHODS``. A ``jwt`` token is bound by its
own ``cnf.jkt`` and sent as ``Authorization: DPoP <token>``; an API key record or an hmac client
is bound by the ``jkt`` it is registered with, and sent as usual with a ``DPoP`` header beside
it. The binding shows in the identity's ``claims`` as ``{"cnf": {"jkt": ...}}`` either way, so
one rule reads it. The proof is checked by the same :class:`~.dpop.DPoPVerifier` as the
``oauth`` one, over the same replay store in the shared storage: a proof spent with one
credential is spent for all. A proof's ``ath`` is the SHA-256 of the token or of the API key
(the credential it travels with); an hmac request carries no token, so its proof has no
``ath`` to check, and the signature itself names the request.

The downgrade rules of RFC 9449 section 7.2: a bound credential without a proof is refused (the
inner scheme refuses a bound ``jwt`` token as Bearer, a bound key or client without a ``DPoP``
header; it does so with DPoP off too, since the binding cannot be checked then), an unbound
one with a proof is refused (it proves nothing about its holder), and with ``"required"``
every credential of the method needs its proof.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .dpop_config import DPoPSettings
from .identity import Identity
from .methods.base import REALM, AuthRequest, Report, Scheme, quoted_string_content
from .methods.oauth_dpop import (
    DPOP,
    DPOP_ERRORS,
    bound_thumbprint,
    proven_identity,
    shared_verifier,
)
from .refusals import INVALID_DPOP_PROOF, INVALID_TOKEN, AuthFailure
from .storage import Storage

TOKEN_METHODS: Final = frozenset({"jwt"})
"""Methods whose credential is a token in ``Authorization``, sent as ``DPoP`` when bound."""


@dataclass(frozen=True, slots=True)
class ProvenCredential:
    """A credential with its ``DPoP`` header (``None`` when absent), the request the proof must
    be for, and ``token``: what the proof's ``ath`` hashes (``None``: no ``ath`` to check)."""

    inner: Any
    token: str | None
    proof: str | None
    method: str
    uri: str


def bound_claims(jkt: str | None) -> dict[str, Any]:
    """The claims a credential registered with ``jkt`` carries in its identity."""
    return {} if jkt is None else {"cnf": {"jkt": jkt}}


def refuse_unproven(identity: Identity) -> None:
    """Refuse a credential presented without a proof though it is bound (RFC 9449 7.2).

    Each scheme's ``verify`` calls it only when ``identity.claims`` holds ``cnf`` (a key's
    claims are empty unless it is bound), so an unbound credential's hot path pays one test."""
    if not identity.claims or bound_thumbprint(identity) is None:
        return
    raise _refused(
        identity.method,
        "The token is DPoP-bound (cnf.jkt): send it as Authorization: DPoP <token> with a "
        "DPoP proof header, never as Bearer.",
        "This credential is bound to a DPoP key (jkt): send a DPoP header with a proof made "
        "with that key for this request.")


def _refused(method: str, token_hint: str, key_hint: str) -> AuthFailure:
    """A token's binding refused as the token (``invalid_token``, as oauth's), a key's or
    client's as its proof (``invalid_dpop_proof``: the key's own refusal says nothing)."""
    if method in TOKEN_METHODS:
        return INVALID_TOKEN.failure(token_hint, method=method)
    return INVALID_DPOP_PROOF.failure(key_hint, method=method)


def describe_dpop(method: str, settings: DPoPSettings, report: Report) -> None:
    """``flask otcauth check``'s line for a method taking proofs, and the warning that
    memory:// remembers proofs per worker."""
    if not settings.enabled:
        return
    report.lines.append(
        f"{method}: DPoP {settings.mode} ({', '.join(settings.algorithms)}; iat within "
        f"{settings.iat_window} s; seen proofs kept in {report.storage_uri}"
        + (f"; nonces live {settings.nonce_lifetime} s" if settings.nonces else "") + ")")
    if report.workers > 1 and report.storage_uri.startswith("memory"):
        report.warnings.append(
            f"{method}: DPoP proofs are remembered per worker with memory:// storage: a proof "
            "can be replayed once to each other worker; set OTC_AUTH_STORAGE_URI to Redis.")


def with_dpop(scheme: Scheme, settings: DPoPSettings, storage: Storage, *,
              identity_of: Callable[[Any, float], Identity],
              token_of: Callable[[Any], str | None]) -> Scheme:
    """``scheme`` as a method's ``build`` returns it: wrapped to take proofs when its DPoP is
    on, the scheme itself (no wrapper to pass through) when it is off."""
    if not settings.enabled:
        return scheme
    return DPoPBoundScheme(scheme, settings, storage, identity_of=identity_of,
                           token_of=token_of)


class DPoPBoundScheme:
    """A method's scheme, plus DPoP: the proof read beside its credential and checked."""

    def __init__(self, inner: Scheme, settings: DPoPSettings, storage: Storage, *,
                 identity_of: Callable[[Any, float], Identity],
                 token_of: Callable[[Any], str | None]) -> None:
        self._inner = inner
        self._identity_of = identity_of  # the credential's identity, the binding unchecked
        self._token_of = token_of
        self._method = inner.method
        self._in_authorization = inner.method in TOKEN_METHODS
        self.settings = settings
        self.verifier = shared_verifier(settings, storage)
        self.spends_credential = True  # a proof's jti: verified after the other methods
        self.adds_success_headers = settings.nonces
        self._challenge = f'{DPOP} realm="{REALM}", algs="{" ".join(settings.algorithms)}"'

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def method(self) -> str:
        return self._method

    @property
    def credential_hint(self) -> str:
        return self._inner.credential_hint + " (with a DPoP proof header when bound)"

    def extract(self, request: AuthRequest) -> Any:
        if self._in_authorization:
            value = request.header("Authorization")
            if value is not None and value[:5].lower() == "dpop ":
                token = value[5:].lstrip(" ")
                return ProvenCredential(token, token, request.header("DPoP"), request.method,
                                        request.target_uri())
            return self._inner.extract(request)
        credential = self._inner.extract(request)
        if credential is None:
            return None
        proof = request.header("DPoP")
        if proof is None:
            return credential
        return ProvenCredential(credential, self._token_of(credential), proof, request.method,
                                request.target_uri())

    def verify(self, credential: Any, now: float) -> Identity:
        if type(credential) is not ProvenCredential:
            identity = self._inner.verify(credential, now)  # refuses a bound one (7.2)
            if self.settings.required:
                raise self._without_proof()
            return identity
        try:
            return proven_identity(self.verifier, credential, now,
                                   lambda: self._identity_of(credential.inner, now),
                                   self._unbound)
        except AuthFailure as failure:
            failure.method = self._method  # the verifier speaks for oauth: this method's
            raise

    def _unbound(self) -> AuthFailure:
        return _refused(
            self._method,
            "The token is not bound to a DPoP key (it has no cnf.jkt): mint it with cnf.jkt, "
            "the thumbprint of the key that signs the proofs.",
            "This credential is bound to no DPoP key (its record has no jkt): register the "
            "thumbprint of the key that signs the proofs, or send no DPoP header.")

    def _without_proof(self) -> AuthFailure:
        return _refused(
            self._method,
            "This server requires DPoP-bound tokens: send Authorization: DPoP <token> with a "
            "DPoP proof header.",
            "This server requires a DPoP proof with every credential of this method: send a "
            "DPoP header with a proof made with the credential's key.")

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._inner.challenge(failure)

    def more_challenges(self, failure: AuthFailure | None) -> tuple[str, ...]:
        """The DPoP challenge (RFC 9449 section 7.1), with the error of this method's proof."""
        value = self._challenge
        if (failure is not None and failure.method == self._method
                and failure.code in DPOP_ERRORS
                and (failure.scheme == DPOP or failure.code != "invalid_token")):
            description = quoted_string_content(failure.developer_message)
            value += f', error="{failure.code}", error_description="{description}"'
        return (value,)

    def success_headers(self, identity: Identity, now: float) -> tuple[tuple[str, str], ...]:
        """A fresh nonce on an accepted request of this method, nonces on (section 9.1)."""
        nonces = self.verifier.nonces
        if nonces is None or identity.method != self._method:
            return ()
        return (("DPoP-Nonce", nonces.nonce(now)),)
