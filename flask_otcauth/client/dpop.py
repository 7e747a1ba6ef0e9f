"""DPoP proofs (RFC 9449) made for a caller, so none is hand-written.

A :class:`DPoPKey` holds one private key (made fresh, or given) and makes a proof per request:
``typ`` ``dpop+jwt``, the public ``jwk`` in the header, a new random ``jti``, ``htm``, ``htu``
(the URL without query and fragment), ``iat``, ``ath`` when a token goes with it, and the
server's ``nonce`` once it asked for one. :class:`~flask_otcauth.client.DPoPHttpxAuth` and
:class:`~flask_otcauth.client.DPoPRequestsAuth` put it on every request of an ``httpx`` or
``requests`` client::

    key = DPoPKey.generate()          # register key.thumbprint with the authorization server
    httpx.get(url, auth=DPoPHttpxAuth(access_token, key))

Nothing here imports Flask or the server; PyJWT and cryptography sign.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = ["DPoPKey", "htu_of"]

_THUMBPRINT_MEMBERS: Final = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
                              "OKP": ("crv", "kty", "x")}
_GENERATED: Final = ("ES256", "EdDSA", "PS256")


def htu_of(url: str) -> str:
    """The ``htu`` of a request to ``url``: the URL without query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class DPoPKey:
    """One DPoP key pair and the proofs it signs; ``nonce`` is the last server nonce seen."""

    def __init__(self, private_key: Any, algorithm: str) -> None:
        self._algorithm = jwt.get_algorithm_by_name(algorithm)
        self._private_key = private_key
        self.algorithm = algorithm
        jwk = json.loads(self._algorithm.to_jwk(private_key.public_key()))
        self.public_jwk: dict[str, str] = {
            name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
        self.nonce: str | None = None

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> DPoPKey:
        """A new key for ``algorithm``: ES256 (P-256), EdDSA (Ed25519) or PS256 (RSA 2048)."""
        if algorithm == "ES256":
            return cls(ec.generate_private_key(ec.SECP256R1()), algorithm)
        if algorithm == "EdDSA":
            return cls(ed25519.Ed25519PrivateKey.generate(), algorithm)
        if algorithm == "PS256":
            return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm)
        raise ValueError(f"DPoPKey.generate makes {', '.join(_GENERATED)} keys, not {algorithm}.")

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint, the ``jkt`` a token bound to this key carries."""
        canonical = json.dumps(self.public_jwk, sort_keys=True, separators=(",", ":"))
        return _b64(hashlib.sha256(canonical.encode()).digest())

    def proof(self, method: str, url: str, *, access_token: str | None = None,
              nonce: str | None = None, now: float | None = None) -> str:
        """A proof for one request; ``nonce`` defaults to the last one the server sent."""
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method.upper(),
                                  "htu": htu_of(url),
                                  "iat": int(time.time() if now is None else now)}
        if access_token is not None:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode("ascii")).digest())
        nonce = nonce if nonce is not None else self.nonce
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": "dpop+jwt", "alg": self.algorithm, "jwk": self.public_jwk}
        signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + _b64(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self._algorithm.sign(signing_input.encode(), self._private_key)
        return f"{signing_input}.{_b64(signature)}"

    def headers(self, method: str, url: str, access_token: str) -> dict[str, str]:
        """``Authorization: DPoP <token>`` and its ``DPoP`` proof, for one request."""
        return {"Authorization": f"DPoP {access_token}",
                "DPoP": self.proof(method, url, access_token=access_token)}

    def asked_for_nonce(self, status: int, headers: Any) -> bool:
        """Remember a ``DPoP-Nonce`` the server sent; ``True`` when the answer is a 401
        ``use_dpop_nonce`` the request should be retried after (once)."""
        nonce = headers.get("DPoP-Nonce")
        if nonce:
            self.nonce = nonce
        challenges = ", ".join(headers.get_list("WWW-Authenticate")
                               if hasattr(headers, "get_list") else
                               [headers.get("WWW-Authenticate") or ""])
        return status == 401 and bool(nonce) and 'error="use_dpop_nonce"' in challenges
