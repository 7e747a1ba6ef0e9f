"""Signed tool definitions: a detached JWS over each listed definition's RFC 8785 bytes.

An agent platform that lists a server's tools decides from their descriptions what its model
may do; a server (or whoever sits between it and the platform) that changes a description
under an unchanged version re-targets every agent that trusted it: the "rug pull". Each
definition is signed with the server's asymmetric key as RFC 7797 ``b64: false`` JWS (the
payload is the canonical JSON itself, detached as RFC 7515 appendix F describes), ``kid`` the
key's RFC 7638 thumbprint and ``iat`` in the protected header. The public keys, the current
and those still published during a rotation, are served as a JWK Set; clients check listings
with :func:`flask_otcauth.client.verify_tool_listing`. Flask-free.

Signatures are cached per definition, so a listing signs each definition once per process, not
once per request, and a changed definition is signed afresh.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from jwt.api_jws import PyJWS

from ..client.jcs import canonicalize
from ..client.jwk import algorithm_of, jwk_thumbprint
from .config_keys import ConfigKey, boolean, strings
from .refusals import OTCAuthConfigError

KEYS_PATH: Final = "/.well-known/otc-tool-keys.json"
"""Where an app that signs its tools serves their public keys (a JWK Set)."""
KEYS_CACHE_CONTROL: Final = "public, max-age=300"
MEDIA_TYPE: Final = "otc-tool-definition+jws"
"""The ``typ`` of a definition's signature, so it is never mistaken for a token."""
MAX_CACHED_SIGNATURES: Final = 4096
_GENERATE_HINT: Final = ("create one with: openssl genpkey -algorithm ed25519 -out "
                         "tool-signing.pem (or -algorithm EC -pkeyopt ec_paramgen_curve:P-256)")

SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def _path(value: Any, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise OTCAuthConfigError(f"{name} must be the path of a PEM file, or None.")
    return value


TOOL_SIGNING_KEY: Final = ConfigKey(
    "OTC_AUTH_TOOL_SIGNING", False,
    "Sign every tool definition the app lists (auth.sign_tool_definitions) and serve the "
    f"public keys as a JWK Set at {KEYS_PATH}.",
    type="bool", example=True,
    wrong="Not true or false; or true without OTC_AUTH_TOOL_SIGNING_KEY_FILE outside "
          "development (DEBUG or TESTING).", bad_example="yes", parse=boolean)
TOOL_SIGNING_KEY_FILE_KEY: Final = ConfigKey(
    "OTC_AUTH_TOOL_SIGNING_KEY_FILE", None,
    "The PEM file (PKCS#8, unencrypted) of the server's tool-signing key, Ed25519 or ECDSA "
    "P-256; read once at init_app while OTC_AUTH_TOOL_SIGNING is true. None: a key is "
    "generated for each process, in development (DEBUG or TESTING) only.",
    type="str | None (a path)", example="/etc/otcauth/tool-signing.pem",
    wrong="Not a path; while signing is on, a file that cannot be read, is no PEM private key, "
          "is encrypted, or holds another kind of key (RSA, another curve).",
    bad_example=42, parse=_path)
TOOL_SIGNING_PUBLISHED_KEY_FILES_KEY: Final = ConfigKey(
    "OTC_AUTH_TOOL_SIGNING_PUBLISHED_KEY_FILES", [],
    "PEM files of public keys that signed earlier listings, still published in the key set "
    "during a rotation so that clients holding those listings can verify them; the current "
    "key is always published.",
    type="list[str] (paths)", example=["/etc/otcauth/tool-signing-2026-01.pub.pem"],
    wrong="Not a list of paths; while signing is on, a file that cannot be read, is no PEM "
          "public key of Ed25519 or P-256, or holds a private key (publish its public half: "
          "openssl pkey -in old.pem -pubout -out old.pub.pem).",
    bad_example=[""], parse=strings)
TOOL_SIGNING_KEYS: Final = (TOOL_SIGNING_KEY, TOOL_SIGNING_KEY_FILE_KEY,
                            TOOL_SIGNING_PUBLISHED_KEY_FILES_KEY)


def public_jwk(key: PublicKey) -> dict[str, Any]:
    """The key's JWK with ``kid`` (its RFC 7638 thumbprint), ``alg`` and ``use``."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(key, as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("kid", None)
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": algorithm_of(jwk), "use": "sig"}


class ToolSigner:
    """One app's signing key, the key set it publishes and its cache of signatures."""

    def __init__(self, key: SigningKey, published: Iterable[PublicKey] = (),
                 *, source: str | None = None) -> None:
        self._key = key
        self.source = source
        """The key file, or ``None`` for a key generated for this process (development)."""
        current = public_jwk(key.public_key())
        self.kid: str = current["kid"]
        self.algorithm: str = current["alg"]
        keys = [current]
        for public in published:
            jwk = public_jwk(public)
            if all(jwk["kid"] != known["kid"] for known in keys):
                keys.append(jwk)
        self._key_set: Final = {"keys": keys}
        self._jws = PyJWS(algorithms=[self.algorithm])
        self._signatures: dict[str, str] = {}
        self._lock = threading.Lock()

    def describe(self) -> tuple[str, str | None]:
        """``flask otcauth check``'s line, and its warning for a key no restart keeps."""
        line = (f"tool signing: {self.algorithm}, kid {self.kid}, key "
                f"{self.source or 'generated for this process'}, "
                f"{len(self._key_set['keys'])} published key(s) at {KEYS_PATH}")
        if self.source is not None:
            return line, None
        return line, (f"{TOOL_SIGNING_KEY_FILE_KEY.name} is unset: each process signs with a "
                      "key of its own, which no restart keeps, so clients that pin the key set "
                      f"see a new one at every restart; {_GENERATE_HINT}, and set it.")

    def key_set(self) -> dict[str, Any]:
        """The JWK Set to publish: the current key first, then the earlier ones."""
        return {"keys": [dict(jwk) for jwk in self._key_set["keys"]]}

    def sign(self, definition: Mapping[str, Any]) -> str:
        """The detached compact JWS (``<protected>..<signature>``) of one definition.

        The cache is keyed by the definition's sorted ``json.dumps``, which the C encoder
        writes in a fraction of the time the pure-Python RFC 8785 form takes: two definitions
        with the same dump are the same JSON value, so they have the same canonical bytes and
        the same signature. Only a definition not seen before is canonicalized and signed.
        """
        fingerprint = _fingerprint(definition)
        signature = self._signatures.get(fingerprint) if fingerprint is not None else None
        if signature is None:
            signature = self._jws.encode(
                canonicalize(definition), self._key, algorithm=self.algorithm,
                is_payload_detached=True,
                headers={"typ": MEDIA_TYPE, "kid": self.kid, "iat": int(time.time())})
            if fingerprint is not None:
                with self._lock:
                    if len(self._signatures) >= MAX_CACHED_SIGNATURES:
                        self._signatures.clear()  # definitions that churn: start over
                    self._signatures[fingerprint] = signature
        return signature

    def sign_all(self, definitions: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """``{tool id: signature}`` for a listing's items; a definition without a string
        ``id``, or two with the same one, is the app's bug and raises ``ValueError``."""
        signatures: dict[str, str] = {}
        for definition in definitions:
            tool_id = definition.get("id")
            if not isinstance(tool_id, str) or not tool_id:
                raise ValueError("A tool definition has no string id to file its signature "
                                 "under.")
            if tool_id in signatures:
                raise ValueError(f"Two tool definitions have the id {tool_id!r}.")
            signatures[tool_id] = self.sign(definition)
        return signatures


def _fingerprint(definition: Mapping[str, Any]) -> str | None:
    """The cache key of a definition, or ``None`` for one JSON cannot hold (canonicalize then
    says why)."""
    try:
        return json.dumps(definition, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None


def read_tool_signer(config: Mapping[str, Any]) -> ToolSigner | None:
    """The app's signer, or ``None`` when signing is off; refuses a key it cannot use.

    The files are read only while signing is on, but the keys' values are checked always.
    """
    enabled = TOOL_SIGNING_KEY.read(config)
    key_file = TOOL_SIGNING_KEY_FILE_KEY.read(config)
    published_files = TOOL_SIGNING_PUBLISHED_KEY_FILES_KEY.read(config)
    if not enabled:
        return None
    published = [_public_key(path, TOOL_SIGNING_PUBLISHED_KEY_FILES_KEY.name)
                 for path in published_files]
    if key_file is not None:
        return ToolSigner(_private_key(key_file), published, source=key_file)
    if not (config.get("DEBUG") or config.get("TESTING")):
        raise OTCAuthConfigError(
            f"{TOOL_SIGNING_KEY.name} is on, but {TOOL_SIGNING_KEY_FILE_KEY.name} is not set: "
            f"{_GENERATE_HINT}, and set {TOOL_SIGNING_KEY_FILE_KEY.name} to its path. A key is "
            "generated only in development (DEBUG or TESTING), as every process would sign "
            "with a key of its own that no restart keeps.")
    return ToolSigner(ed25519.Ed25519PrivateKey.generate(), published)


def _read(path: str, name: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise OTCAuthConfigError(f"{name}: {path} cannot be read ({error.strerror}).") from None


def _private_key(path: str) -> SigningKey:
    name = TOOL_SIGNING_KEY_FILE_KEY.name
    data = _read(path, name)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise OTCAuthConfigError(f"{name}: {path} is encrypted; store the key unencrypted, "
                                 "readable by the server alone (chmod 600).") from None
    except ValueError:
        raise OTCAuthConfigError(f"{name}: {path} is no PEM private key; "
                                 f"{_GENERATE_HINT}.") from None
    if isinstance(key, ed25519.Ed25519PrivateKey) or (
            isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)):
        return key
    raise OTCAuthConfigError(f"{name}: {path} holds a {type(key).__name__}; tool definitions "
                             f"are signed with Ed25519 or ECDSA P-256: {_GENERATE_HINT}.")


def _public_key(path: str, name: str) -> PublicKey:
    data = _read(path, name)
    if b"PRIVATE KEY" in data:
        raise OTCAuthConfigError(f"{name}: {path} holds a private key; publish its public "
                                 "half only: openssl pkey -in old.pem -pubout -out "
                                 "old.pub.pem.")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise OTCAuthConfigError(f"{name}: {path} is no PEM public key.") from None
    if isinstance(key, ed25519.Ed25519PublicKey) or (
            isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        return key
    raise OTCAuthConfigError(f"{name}: {path} holds a {type(key).__name__}, neither Ed25519 "
                             "nor P-256.")
