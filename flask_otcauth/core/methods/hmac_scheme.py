"""Verifying HMAC request signatures: a narrow profile of RFC 9421 (HTTP Message Signatures).

A signing client sends ``Signature-Input`` and ``Signature`` (any one label; our client uses
``otc``) with ``alg="hmac-sha256"``, ``keyid`` = its client id, ``created`` and ``nonce``,
covering at least ``@method @authority @path @query content-digest``; ``Content-Digest``
(RFC 9530, ``sha-256``) binds the exact body bytes. The signature base and the digest are
checked by ``http-message-signatures`` with an explicit maximum age; this module adds the
profile: what must be covered, freshness against our clock and leeway, and replay: each
``(keyid, nonce)`` is spent once in the shared storage, failing closed when it cannot answer.
:mod:`.hmac` declares the method around it, :mod:`.hmac_config` its settings' parsers.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, cast

import http_sf
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    MappingKeyResolver,
    VerifyResult,
    algorithms,
)

from ..dpop_binding import bound_claims, refuse_unproven
from ..identity import Identity
from ..policy import Policy
from ..refusals import INVALID_SIGNATURE, TEMPORARILY_UNAVAILABLE, AuthFailure
from ..scopes import SCOPELESS_GRANTS
from ..storage import Storage, StorageForgot, StorageUnavailable
from .base import REALM, AuthRequest

ALGORITHM: Final = "hmac-sha256"
REQUIRED_COMPONENTS: Final = ("@method", "@authority", "@path", "@query", "content-digest")
MAX_HEADER_LENGTH: Final = 4096
MAX_NONCE_LENGTH: Final = 128
STORAGE_RETRY_AFTER_SECONDS: Final = 5
_COVERAGE: Final = " ".join(REQUIRED_COMPONENTS)


def _refusal(hint: str) -> AuthFailure:
    return INVALID_SIGNATURE.failure(hint, method="hmac")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The credential: the request's signature headers, and the request they sign."""

    request: AuthRequest
    signature_input: str | None
    signature: str | None


@dataclass(frozen=True, slots=True)
class _Message:
    """A request as ``http-message-signatures`` reads it: method, absolute URL, headers."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _SignatureInput:
    label: str
    components: tuple[str, ...]
    client_id: str
    created: int
    nonce: str


class HmacScheme:
    """Accepts a request signed by a configured client, once per nonce, while it is fresh."""

    method: Final = "hmac"
    credential_hint: Final = ("an RFC 9421 signature (Signature-Input and Signature headers, "
                              "alg hmac-sha256)")
    spends_credential: Final = True

    def __init__(
        self,
        clients: Iterable[tuple[str, tuple[bytes, ...]]],
        *,
        max_age: int,
        leeway: int,
        nonces: Storage,
        scopes: Mapping[str, frozenset[str]] | None = None,
        scopeless_grants: frozenset[str] = frozenset(),
        policies: Mapping[str, Policy] | None = None,
        thumbprints: Mapping[str, str] | None = None,
    ) -> None:
        self._policies = dict(policies or {})
        self._thumbprints = dict(thumbprints or {})  # client id -> its DPoP key's jkt
        # A client written with "scopes" holds exactly them; any other, the scope-less grants.
        self._scopes = {client_id: (granted, f'OTC_AUTH_HMAC_CLIENTS["{client_id}"]')
                        for client_id, granted in (scopes or {}).items()}
        self._scopeless = (frozenset(scopeless_grants), SCOPELESS_GRANTS)
        self._verifiers = {
            client_id: tuple(_verifier(client_id, secret, leeway) for secret in secrets)
            for client_id, secrets in clients
        }
        self._max_age = max_age
        self._library_max_age = datetime.timedelta(seconds=max_age)  # its default is a day
        self._leeway = leeway
        self._nonces = nonces
        # A nonce must outlive every moment its signature could still be accepted: first used
        # as early as created - leeway, replayable until created + max_age. The +1 keeps it
        # at that very last moment too (a record whose deadline is reached is gone).
        self._nonce_ttl = max_age + leeway + 1
        self._challenge = f'Signature realm="{REALM}", alg="{ALGORITHM}"'

    def extract(self, request: AuthRequest) -> SignedRequest | None:
        signature_input = request.header("Signature-Input")
        signature = request.header("Signature")
        if signature_input is None and signature is None:
            return None
        return SignedRequest(request, signature_input, signature)

    def verify(self, credential: SignedRequest, now: float) -> Identity:
        identity = self.signed_identity(credential, now)
        if "cnf" in identity.claims:  # a client with jkt: only with its DPoP proof
            refuse_unproven(identity)
        return identity

    def signed_identity(self, credential: SignedRequest, now: float) -> Identity:
        """What the signature itself proves, with or without a DPoP proof beside it."""
        signed = self._signature_input(credential)
        if signed.client_id not in self._verifiers:
            raise _refusal("The keyid names no client this server knows.")
        # Accepted from created - leeway (the client's clock ahead) to created + max_age.
        if signed.created > now + self._leeway:
            raise _refusal("The signature's created is in the future: check the client's clock.")
        if now - signed.created > self._max_age:
            raise _refusal(f"The signature is older than {self._max_age} s: sign each request "
                           "just before sending it.")
        result = self.verify_signature(credential, signed.client_id, signed.components)
        self._check_digest(result, credential.request.body())
        self._spend_nonce(signed.client_id, signed.nonce, signed.created, now)
        scopes, source = self._scopes.get(signed.client_id, self._scopeless)
        return Identity(
            method=self.method,
            subject=signed.client_id,
            client=signed.client_id,
            claims=MappingProxyType({"label": signed.label, "created": signed.created,
                                     "nonce": signed.nonce, **bound_claims(
                                         self._thumbprints.get(signed.client_id))}),
            scopes=scopes,
            scope_source=source,
            policy=self._policies.get(signed.client_id),
        )

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._challenge

    def _signature_input(self, credential: SignedRequest) -> _SignatureInput:
        """The profile's checks on the headers alone, before any key or clock is consulted."""
        inputs = _dictionary(credential.signature_input, "Signature-Input")
        signatures = _dictionary(credential.signature, "Signature")
        if len(inputs) != 1 or inputs.keys() != signatures.keys():
            raise _refusal("Send exactly one signature: one label, the same in Signature-Input "
                           "and Signature.")
        label, (members, params) = next(iter(inputs.items()))
        if not isinstance(members, list) or not isinstance(signatures[label][0], bytes):
            raise _refusal("Signature-Input must hold an inner list of components and "
                           "Signature a byte sequence.")
        components = tuple(name for name, component_params in members
                           if isinstance(name, str) and not component_params)
        missing = [name for name in REQUIRED_COMPONENTS if name not in components]
        if missing:
            raise _refusal(f"The signature must cover {_COVERAGE}; it lacks {' '.join(missing)}.")
        if params.get("alg") != ALGORITHM:
            raise _refusal(f'The signature must name alg="{ALGORITHM}".')
        client_id, created, nonce = params.get("keyid"), params.get("created"), params.get("nonce")
        if not isinstance(client_id, str) or not client_id:
            raise _refusal("The signature must name the client in keyid.")
        if type(created) is not int:
            raise _refusal("The signature must carry created, an integer of seconds since the "
                           "epoch.")
        if not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE_LENGTH:
            raise _refusal(f"The signature must carry a nonce of 1-{MAX_NONCE_LENGTH} characters, "
                           "new for every request.")
        return _SignatureInput(label, components, client_id, created, nonce)

    def verify_signature(
        self, credential: SignedRequest, client_id: str, components: Iterable[str]
    ) -> VerifyResult:
        """The RFC 9421 step alone: the signature verifies with one of the client's secrets.

        ``http-message-signatures`` builds the signature base of ``components`` and checks the
        HMAC with the current secret, then the previous ones; it also checks ``created``
        against its own clock, with this scheme's maximum age (its default is a day) and the
        leeway as clock skew. The profile (:meth:`verify`) has already checked what must be
        covered, the parameters and freshness, so the library is not asked to parse the
        required components again (it is the slow part of a signed request). Raises the
        refusal when no secret verifies (an unknown client has none).
        """
        verifiers = self._verifiers.get(client_id, ())
        message = _Message(credential.request.method, credential.request.target_uri(), {
            "Signature-Input": credential.signature_input or "",
            "Signature": credential.signature or "",
        })
        for component in components:  # covered header fields, for the signature base
            value = None if component.startswith("@") else credential.request.header(component)
            if value is not None:
                message.headers[component] = value
        for verifier in verifiers:
            try:
                return verifier.verify(message, max_age=self._library_max_age)[0]
            except HTTPMessageSignaturesException:  # InvalidSignature is one
                continue
        raise _refusal("The signature does not verify: sign exactly the request you send "
                       f"({_COVERAGE}) with the client's current secret.")

    @staticmethod
    def _check_digest(result: VerifyResult, body: bytes) -> None:
        """The signed Content-Digest's sha-256 member against the exact bytes received."""
        digest = result.covered_components.get('"content-digest"', "")
        try:
            members: Any = http_sf.parse(digest.encode("ascii"), tltype="dictionary")
        except ValueError:
            members = {}
        expected = members.get("sha-256", (None,))[0]
        if not isinstance(expected, bytes):
            raise _refusal("Content-Digest must carry a sha-256 member (RFC 9530).")
        if not hmac.compare_digest(expected, hashlib.sha256(body).digest()):
            raise _refusal("Content-Digest does not match the body received: sign the exact "
                           "bytes you send.")

    def _spend_nonce(self, client_id: str, nonce: str, created: int, now: float) -> None:
        """Spend the nonce, or refuse: a store that lost its memory after the signature could
        first be used (``created - leeway``) cannot tell a replay from a first use."""
        # 128 bits of SHA-256: the set's member, its first use recorded across every worker.
        key = hashlib.sha256(f"{client_id}\n{nonce}".encode()).hexdigest()[:32]
        try:
            first_use = self._nonces.spend_nonce(key, self._nonce_ttl,
                                                 valid_from=created - self._leeway, now=now)
        except StorageForgot as forgot:
            # A signature created (whole seconds) from remembers_since + leeway on can only be
            # used after the store began anew.
            wait = math.ceil(math.ceil(forgot.remembers_since + self._leeway) - now)
            raise TEMPORARILY_UNAVAILABLE.failure(
                "The nonce store lost its memory (a restart, flush, eviction or failover) "
                "after this signature was created, so it cannot tell whether it was used "
                "already; the request was not accepted. Sign it again, with a new nonce, "
                "after Retry-After.", retry_after=max(1, wait)) from None
        except StorageUnavailable:
            raise TEMPORARILY_UNAVAILABLE.failure(
                "The nonce store did not answer, so the signature could not be checked for "
                "replay; the request was not accepted.",
                retry_after=STORAGE_RETRY_AFTER_SECONDS) from None
        if not first_use:
            raise _refusal("This nonce was already used: every signed request needs a new one.")


def _dictionary(value: str | None, name: str) -> dict[str, Any]:
    if value is None:
        raise _refusal("A signed request carries both Signature-Input and Signature; "
                       f"{name} is missing.")
    if len(value) > MAX_HEADER_LENGTH:
        raise _refusal(f"{name} is longer than {MAX_HEADER_LENGTH} characters.")
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError):  # http-sf's StructuredFieldError is a ValueError
        raise _refusal(f"{name} is not a structured field dictionary (RFC 8941).") from None
    return cast("dict[str, Any]", parsed)


def _verifier(client_id: str, secret: bytes, leeway: int) -> HTTPMessageVerifier:
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={client_id: secret}, private_keys={}),
    )
    verifier.max_clock_skew = datetime.timedelta(seconds=leeway)
    return verifier
