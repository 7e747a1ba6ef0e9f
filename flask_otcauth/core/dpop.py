"""DPoP proofs (RFC 9449 section 4.3): a token bound to a key is only good with that key.

:meth:`DPoPVerifier.check` makes the RFC's checks in its order, each with its own message: one
``DPoP`` header, one well-formed compact JWS read by the strict parser of :mod:`.jose` (with a
header cap that leaves room for an RSA key), ``typ``, ``alg`` on the allow-list, a public
``jwk`` that verifies the signature, ``htm``, ``htu`` after RFC 3986 normalisation, ``iat`` in
the window, the server's nonce when nonces are on, ``ath``. The token's ``cnf.jkt`` and the
``jti`` are checked by :meth:`DPoPVerifier.bind` and :meth:`DPoPVerifier.spend` once the token
itself verified, so a proof for a dead token spends nothing. Flask-free: the framework layer
hands in the method and the target URI (behind ProxyFix, the one the client addressed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import jwt
from jwt.exceptions import PyJWKError

from .dpop_config import ED25519, EDDSA, DPoPSettings
from .dpop_replay import NonceSigner, ReplayStore
from .jose import parse_compact_jws
from .refusals import INVALID_DPOP_PROOF, USE_DPOP_NONCE, AuthFailure

MAX_PROOF_LENGTH: Final = 4096
MAX_PROOF_HEADER_LENGTH: Final = 2048
"""Room for a 4096-bit RSA key's ``n`` (683 characters) in base64url twice over."""
MAX_JTI_LENGTH: Final = 256
NONCE_HEADER: Final = "DPoP-Nonce"
# Everything the parser of .jose must let through so that the checks below speak in order.
_ANY_ALG: Final = frozenset({"none", "HS256", "HS384", "HS512", ED25519, "ES256K",
                             "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                             "ES256", "ES384", "ES512", EDDSA})
_HEADER: Final = frozenset({"typ", "alg", "jwk"})
_TYPES: Final = frozenset({"dpop+jwt"})
_PRIVATE: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_FOR: Final = MappingProxyType({
    **{alg: ("RSA", None) for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    EDDSA: ("OKP", "Ed25519"),
})
_THUMBPRINT_MEMBERS: Final = MappingProxyType({
    "EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")})
_DEFAULT_PORTS: Final = MappingProxyType({"http": 80, "https": 443})
_PERCENT: Final = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_MAX_KEYS: Final = 256
_ALGORITHMS: Final = MappingProxyType({
    name: jwt.get_algorithm_by_name(name) for name in _KEY_FOR})

def proof_refusal(hint: str) -> AuthFailure:
    return INVALID_DPOP_PROOF.failure(hint, method="oauth")


@dataclass(frozen=True, slots=True)
class Proof:
    """A proof that passed the checks that need no token verified: its key and its name."""

    thumbprint: str
    jti: str


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint: the required members only, sorted, no whitespace."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty"))  # type: ignore[arg-type]
    if members is None or not all(type(jwk.get(name)) is str for name in members):
        raise proof_refusal("The DPoP proof's jwk lacks the members of its kty (RFC 7638).")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"),
                           ensure_ascii=False)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(token: str) -> str:
    """``ath``: base64url of the SHA-256 of the token's ASCII (RFC 9449 section 4.2)."""
    return _b64(hashlib.sha256(token.encode("ascii", "replace")).digest())


def normalized_htu(uri: str) -> str | None:
    """``uri`` without query and fragment, after RFC 3986 section 6.2.2 (case, percent-encoding,
    dot segments) and 6.2.3 (default port, empty path) normalisation; ``None`` for no http(s)
    URI."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    authority = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        authority += f":{port}"
    return f"{scheme}://{authority}{_path(parts.path)}"


def _path(path: str) -> str:
    path = _PERCENT.sub(_percent, path)
    output: list[str] = []
    for segment in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if path.endswith(("/.", "/..")):
        output.append("")
    return "/" + "/".join(output)


def _percent(match: re.Match[str]) -> str:
    character = chr(int(match.group()[1:], 16))
    return character if character in _UNRESERVED else match.group().upper()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class DPoPVerifier:
    """The proof checks of one app, with its settings, its replay store and its nonce signer."""

    def __init__(self, settings: DPoPSettings, replay: ReplayStore) -> None:
        self.settings = settings
        self._algorithms = settings.accepted_algorithms
        self._window = settings.iat_window
        self._replay = replay
        self._replay_ttl = 2 * settings.iat_window + 1
        self.nonces = (NonceSigner(settings.nonce_secret)
                       if settings.nonces and settings.nonce_secret is not None else None)
        self._keys: dict[bytes, tuple[Any, str]] = {}  # encoded header -> (key, thumbprint)

    def check(self, proof: str | None, *, method: str, uri: str, token: str | None,
              now: float) -> Proof:
        """The proof's key and ``jti`` if it passes every check that needs no verified token."""
        if proof is None:
            raise proof_refusal("Authorization: DPoP needs a DPoP header with a proof.")
        if "," in proof:  # WSGI servers join repeated header lines with ", "
            raise proof_refusal("Send exactly one DPoP header: a comma means it came twice.")
        if len(proof) > MAX_PROOF_LENGTH:
            raise proof_refusal(f"The DPoP proof is longer than {MAX_PROOF_LENGTH} characters.")
        try:
            parsed = parse_compact_jws(proof, algorithms=_ANY_ALG, header_names=_HEADER,
                                       types=_TYPES, max_header_length=MAX_PROOF_HEADER_LENGTH)
        except AuthFailure as failure:
            raise proof_refusal(failure.developer_message.replace(
                "The token", "The DPoP proof").replace("the token", "the proof")) from None
        header, claims = parsed.header, parsed.claims
        if header.get("typ") != "dpop+jwt":
            raise proof_refusal('The DPoP proof\'s typ must be "dpop+jwt".')
        alg = header["alg"]
        if alg not in self._algorithms:
            raise proof_refusal("The DPoP proof must be signed with one of "
                                + ", ".join(self.settings.algorithms) + " (asymmetric).")
        key, key_thumbprint = self._key(parsed.signing_input.partition(b".")[0], header)
        algorithm = _ALGORITHMS[EDDSA if alg == ED25519 else alg]
        if not algorithm.verify(parsed.signing_input, key, parsed.signature):
            raise proof_refusal("The DPoP proof's signature does not verify with its jwk.")
        self._check_claims(claims, method, uri, now)
        if token is not None and claims.get("ath") != access_token_hash(token):
            raise proof_refusal("The DPoP proof's ath is not the hash of this access token.")
        return Proof(key_thumbprint, claims["jti"])

    def bind(self, proof: Proof, jkt: object) -> None:
        """The token's ``cnf.jkt`` names the proof's key (RFC 9449 section 6)."""
        if jkt != proof.thumbprint:
            raise proof_refusal("The DPoP proof's key is not the one the token is bound to "
                                "(cnf.jkt).")

    def spend(self, proof: Proof, now: float) -> None:
        """The proof's ``jti``, claimed for as long as its ``iat`` could be accepted."""
        if not self._replay.claim(proof.thumbprint, proof.jti, self._replay_ttl, now):
            raise proof_refusal("This DPoP proof was used before: make a new one (a new jti) "
                                "for every request.")

    def _key(self, encoded_header: bytes, header: dict[str, Any]) -> tuple[Any, str]:
        """The proof's public key and thumbprint, remembered per header (a client sends the
        same header with every proof)."""
        remembered = self._keys.get(encoded_header)
        if remembered is not None:
            return remembered
        jwk = header.get("jwk")
        if type(jwk) is not dict:
            raise proof_refusal("The DPoP proof's header must carry its public key as jwk.")
        if jwk.keys() & _PRIVATE:
            raise proof_refusal("The DPoP proof's jwk holds private key members: send the "
                                "public key only, and consider this private key exposed.")
        alg = EDDSA if header["alg"] == ED25519 else header["alg"]
        kty, crv = _KEY_FOR[alg]
        if jwk.get("kty") != kty or jwk.get("crv") != crv or jwk.get("alg") not in (None, alg):
            raise proof_refusal("The DPoP proof's jwk is not a key for its alg.")
        try:
            key = jwt.PyJWK(jwk, alg).key
        except (PyJWKError, ValueError, TypeError):
            raise proof_refusal("The DPoP proof's jwk is not a valid public key.") from None
        entry = (key, thumbprint(jwk))
        if len(self._keys) >= _MAX_KEYS:
            self._keys.clear()
        self._keys[encoded_header] = entry
        return entry

    def _check_claims(self, claims: dict[str, Any], method: str, uri: str, now: float) -> None:
        jti = claims.get("jti")
        if type(jti) is not str or not jti or len(jti) > MAX_JTI_LENGTH:
            raise proof_refusal(f"The DPoP proof needs a jti of 1-{MAX_JTI_LENGTH} characters.")
        if claims.get("htm") != method:
            raise proof_refusal(f"The DPoP proof's htm is not this request's method ({method}).")
        htu = claims.get("htu")
        expected = normalized_htu(uri)
        if type(htu) is not str or expected is None or normalized_htu(htu) != expected:
            raise proof_refusal(f"The DPoP proof's htu is not this request's URI ({expected}, "
                                "without query and fragment).")
        iat = claims.get("iat")
        if iat is None or abs(iat - now) > self._window:
            raise proof_refusal(f"The DPoP proof's iat is more than {self._window} s from the "
                                "server's clock: make a new proof, and check the clock (NTP).")
        nonces = self.nonces
        if nonces is not None and not nonces.fresh(claims.get("nonce"), now,
                                                   self.settings.nonce_lifetime):
            # Signed by the key it carries: its holder asks no guess, so this is a request of
            # the address's budget, never a failed attempt (the client retries once, at once).
            failure = USE_DPOP_NONCE.failure(method="oauth", verified=True)
            failure.headers = ((NONCE_HEADER, nonces.nonce(now)),)
            raise failure
