"""``private_key_jwt`` client authentication (RFC 7523 section 2.2, OpenID Connect Core section 9)
for the introspection requests of the ``oauth`` method; Flask-free.

Instead of a shared secret that both sides hold (and either can leak), the resource server
proves it is the client with a short-lived JWT signed by its own private key; the authorization
server holds only the public key. The key is read and checked once, at ``init_app``: a PEM file
(never the PEM itself in the configuration, where it would be copied into every dump of it) or
a private JWK, of the type its ``algorithm`` needs. Each request gets a new assertion: ``iss`` and
``sub`` the client id, ``aud`` the introspection endpoint (or the configured audience, such as
the issuer), a random ``jti`` and an ``exp`` 60 seconds ahead. Neither the key nor an
assertion is ever logged or put in an error.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from .refusals import OTCAuthConfigError

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LIFETIME_SECONDS: Final = 60
MIN_RSA_BITS: Final = 2048
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                     "ES512", "EdDSA")
_CURVE_OF: Final = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


@dataclass(frozen=True, slots=True)
class PrivateKeyJwt:
    """The client's signing key and what its assertions say; the key is kept out of ``repr``."""

    client_id: str
    key: Any = field(repr=False)
    algorithm: str
    audience: str
    key_id: str | None = None

    def assertion(self, now: float) -> str:
        """A new client assertion (RFC 7523 section 3): never reused, so ``jti`` replay checks
        at the authorization server pass."""
        issued = int(now)
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.audience,
                  "jti": secrets.token_urlsafe(24), "iat": issued,
                  "exp": issued + LIFETIME_SECONDS}
        headers = {"kid": self.key_id} if self.key_id is not None else None
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers=headers)

    def form(self, now: float) -> dict[str, str]:
        """The form fields that authenticate the client (RFC 7523 section 2.2)."""
        return {"client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(now)}


def private_key_jwt(value: Mapping[str, Any], name: str, endpoint: str) -> PrivateKeyJwt:
    """The checked ``private_key`` fields of the introspection dict ``value``."""
    key, jwk_alg, jwk_kid = _load_key(value["private_key"], f"{name}.private_key")
    algorithm = value.get("algorithm", jwk_alg)
    if algorithm not in ALGORITHMS:
        raise OTCAuthConfigError(
            f"{name}.algorithm must be one of {', '.join(ALGORITHMS)} for private_key_jwt "
            f"(got {algorithm!r}); a JWK's own alg is used when it has one.")
    problem = _mismatch(key, algorithm)
    if problem is not None:
        raise OTCAuthConfigError(f"{name}.private_key {problem}: give a key of the type "
                                 f"{algorithm} needs, or the algorithm that fits the key.")
    audience = value.get("assertion_audience", endpoint)
    key_id = value.get("key_id", jwk_kid)
    for field_name, given in (("assertion_audience", audience), ("key_id", key_id)):
        if given is not None and (not isinstance(given, str) or not given):
            raise OTCAuthConfigError(f"{name}.{field_name} must be a non-empty string.")
    return PrivateKeyJwt(value["client_id"], key, algorithm, audience, key_id)


def _load_key(given: Any, where: str) -> tuple[Any, str | None, str | None]:
    """``(private key, the JWK's alg, the JWK's kid)`` from a PEM file path or a JWK dict."""
    if isinstance(given, Mapping):
        if "d" not in given:
            raise OTCAuthConfigError(f"{where} is a JWK without its private part (d): give "
                                     "the client's private key; the public one is registered "
                                     "at the authorization server.")
        try:
            parsed = jwt.PyJWK(dict(given))
        except (jwt.PyJWTError, ValueError, TypeError):
            raise OTCAuthConfigError(f"{where} is not a JWK PyJWT can use (RFC 7517).") from None
        alg, kid = given.get("alg"), given.get("kid")
        return (parsed.key, alg if isinstance(alg, str) else None,
                kid if isinstance(kid, str) else None)
    if not isinstance(given, str) or not given:
        raise OTCAuthConfigError(f"{where} must be the path of a PEM file or a JWK (a dict).")
    if given.lstrip().startswith("-----BEGIN"):
        raise OTCAuthConfigError(f"{where} must be the path of a PEM file, not the PEM itself: "
                                 "keep the key in a file only the server can read.")
    try:
        data = Path(given).read_bytes()
    except OSError as error:
        raise OTCAuthConfigError(f"{where}: the file {given} cannot be read "
                                 f"({type(error).__name__}).") from None
    try:
        return load_pem_private_key(data, password=None), None, None
    except TypeError:
        raise OTCAuthConfigError(f"{where}: the PEM file {given} is encrypted; give an "
                                 "unencrypted key file readable only by the server.") from None
    except ValueError:
        raise OTCAuthConfigError(f"{where}: the file {given} holds no PEM private key "
                                 "(a public key or a certificate is not enough).") from None


def _mismatch(key: Any, algorithm: str) -> str | None:
    """Why ``key`` cannot sign with ``algorithm`` (RFC 7518 section 3.1), or ``None``."""
    if algorithm[:2] in ("RS", "PS"):
        if not isinstance(key, rsa.RSAPrivateKey):
            return f"is not an RSA private key, which {algorithm} needs"
        if key.key_size < MIN_RSA_BITS:
            return f"is an RSA key of {key.key_size} bits, under {MIN_RSA_BITS}"
        return None
    if algorithm == "EdDSA":
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
            return None
        return "is not an Ed25519 or Ed448 private key, which EdDSA needs"
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE_OF[algorithm]:
        return f"is not an EC private key on the curve {algorithm} needs"
    return None
