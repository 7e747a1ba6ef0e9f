"""The settings of DPoP (RFC 9449) proofs: their keys, what they hold, which methods take them.

Off by default: turning DPoP on adds a ``DPoP`` challenge beside the Bearer one and a replay
store, which an operator should choose knowingly. A token bound by ``cnf.jkt`` is refused as
Bearer whatever the mode (RFC 9449 section 7.2): its issuer meant it for one key's holder only.
Everything that cannot work is refused at ``init_app``: a symmetric or unknown algorithm,
nonces without a secret (every worker must be able to check every other worker's nonce).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from .config_keys import ConfigKey, boolean, choice, seconds, secret_bytes, strings
from .refusals import OTCAuthConfigError

OFF: Final = "off"
ACCEPTED: Final = "accepted"
REQUIRED: Final = "required"
EDDSA: Final = "EdDSA"
ED25519: Final = "Ed25519"
"""RFC 9864's name for EdDSA over Ed25519, which npm ``dpop@2`` signs with: taken as EdDSA."""
PROOF_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                     "ES256", "ES384", "ES512", EDDSA})
DEFAULT_ALGORITHMS: Final = ("ES256", "PS256", EDDSA)
DEFAULT_MEMORY_BYTES: Final = 16 * 1024 * 1024
BINDABLE_METHODS: Final = ("oauth", "jwt", "api_key", "hmac")
"""The methods whose credentials a DPoP key can be bound to: oauth and jwt tokens by their
``cnf.jkt``, API key records and hmac clients by their registered ``jkt``."""


@dataclass(frozen=True, slots=True)
class DPoPSettings:
    """What a proof must be, as configured; ``algorithms`` hold ``EdDSA``, never its alias."""

    mode: str = OFF
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    iat_window: int = 300
    nonces: bool = False
    nonce_lifetime: int = 60
    nonce_secret: bytes | None = None
    replay_memory_bytes: int = DEFAULT_MEMORY_BYTES
    methods: tuple[str, ...] = ("oauth",)

    def for_method(self, name: str) -> DPoPSettings:
        """These settings as method ``name`` applies them: off unless
        ``OTC_AUTH_DPOP_METHODS`` names it."""
        return self if name in self.methods or not self.enabled else replace(self, mode=OFF)

    @property
    def enabled(self) -> bool:
        return self.mode != OFF

    @property
    def required(self) -> bool:
        return self.mode == REQUIRED

    @property
    def accepted_algorithms(self) -> frozenset[str]:
        """The ``alg`` values a proof may carry: the configured ones, and ``Ed25519`` with
        ``EdDSA``."""
        names = frozenset(self.algorithms)
        return names | {ED25519} if EDDSA in names else names


def _algorithms(value: Any, name: str) -> tuple[str, ...]:
    if (isinstance(value, str) or not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(item, str) for item in value)):
        raise OTCAuthConfigError(f"{name} must be a non-empty list of algorithm names.")
    names = tuple(dict.fromkeys(EDDSA if item == ED25519 else item for item in value))
    refused = sorted(set(names) - PROOF_ALGORITHMS)
    if refused:
        raise OTCAuthConfigError(
            f"{name} names {refused}: a DPoP proof is signed with an asymmetric key ("
            + ", ".join(sorted(PROOF_ALGORITHMS)) + "); HS* would need a secret the server "
            "shares with the client, and none proves nothing (RFC 9449 section 4.2).")
    return names


def _methods(value: Any, name: str) -> tuple[str, ...]:
    names = strings(value, name)
    unknown = sorted(set(names) - set(BINDABLE_METHODS))
    if not names or unknown:
        raise OTCAuthConfigError(
            f"{name} must name one or more of {', '.join(BINDABLE_METHODS)}"
            + (f", not {unknown}" if unknown else "") + ": the methods whose credentials "
            "can be bound to a DPoP key.")
    return tuple(dict.fromkeys(names))


def _memory_bytes(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 65536:
        raise OTCAuthConfigError(f"{name} must be a whole number of bytes >= 65536, "
                                 f"got {value!r}.")
    return value


def _nonce_secret(value: Any, name: str) -> bytes | None:
    if value is None:
        return None
    return secret_bytes(value, name, "the DPoP nonce secret")


MODE_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP", OFF,
    'DPoP proofs (RFC 9449) for the methods of OTC_AUTH_DPOP_METHODS: "off", "accepted" '
    '(Authorization: DPoP or a DPoP header '
    'beside Bearer) or "required" (bearer tokens refused; the metadata says '
    "dpop_bound_access_tokens_required). A token bound by cnf.jkt is refused as Bearer in "
    "every mode.",
    type='str ("off", "accepted", "required")', example=ACCEPTED,
    wrong="Not one of the three words.", bad_example="on", parse=choice(OFF, ACCEPTED, REQUIRED))
ALGORITHMS_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_ALGORITHMS", list(DEFAULT_ALGORITHMS),
    "The algorithms a DPoP proof may be signed with, advertised as "
    "dpop_signing_alg_values_supported; EdDSA also accepts proofs whose alg is Ed25519 "
    "(RFC 9864).",
    type="list[str]", example=["ES256", "EdDSA"],
    wrong="Not a non-empty list, or a name that is not an asymmetric JWS algorithm (HS256, "
          "none).", bad_example=["HS256"], parse=_algorithms)
IAT_WINDOW_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_IAT_WINDOW", 300,
    "Seconds a proof's iat may lie before or after the server's clock; its jti is remembered "
    "twice as long.",
    type="int (seconds, 1-3600)", example=120, wrong="Not a whole number in 1-3600.",
    bad_example=0, parse=seconds(1, 3600))
NONCES_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_NONCES", False,
    "Require the server's nonce in every proof (RFC 9449 section 9): a proof without a fresh "
    "one gets 401 use_dpop_nonce and a DPoP-Nonce header; accepted requests get a new nonce "
    "too. Nonces are signed timestamps, so no worker remembers them.",
    type="bool", example=True, wrong="Not true or false, or true without "
    "OTC_AUTH_DPOP_NONCE_SECRET.", bad_example="yes", parse=boolean)
NONCE_LIFETIME_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_NONCE_LIFETIME", 60,
    "Seconds a server nonce is accepted after it was issued.",
    type="int (seconds, 1-3600)", example=300, wrong="Not a whole number in 1-3600.",
    bad_example=-5, parse=seconds(1, 3600))
NONCE_SECRET_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_NONCE_SECRET", None,
    "The key nonces are signed with (itsdangerous TimestampSigner), the same in every worker; "
    "at least 32 bytes; required when OTC_AUTH_DPOP_NONCES is on.",
    type="str | None (>= 32 bytes)", example="replace-me-with-secrets.token_urlsafe(48)-output",
    wrong="Shorter than 32 bytes, or not a string.", bad_example="short", parse=_nonce_secret)
REPLAY_MEMORY_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_REPLAY_MEMORY_BYTES", DEFAULT_MEMORY_BYTES,
    "With memory:// storage, the bytes the seen proofs' (thumbprint, jti) may take; when they "
    "are full of live entries, proofs are refused with 503 until some expire (never forgotten "
    "early, which would let a proof be replayed). Redis storage is bounded by Redis.",
    type="int (bytes, >= 65536)", example=64 * 1024 * 1024,
    wrong="Not a whole number >= 65536.", bad_example=100, parse=_memory_bytes)
METHODS_KEY: Final = ConfigKey(
    "OTC_AUTH_DPOP_METHODS", ["oauth"],
    "The methods that take DPoP proofs when OTC_AUTH_DPOP is on: oauth and jwt tokens bound "
    "by their cnf.jkt, api_key records and hmac clients bound by their jkt field. "
    '"required" then refuses every credential of these methods sent without a proof.',
    type='list[str] ("oauth", "jwt", "api_key", "hmac")', example=["oauth", "jwt", "api_key"],
    wrong="Empty, or a name that is not one of the four.", bad_example=["mtls"],
    parse=_methods)
KEYS: Final = (MODE_KEY, METHODS_KEY, ALGORITHMS_KEY, IAT_WINDOW_KEY, NONCES_KEY,
               NONCE_LIFETIME_KEY, NONCE_SECRET_KEY, REPLAY_MEMORY_KEY)


def dpop_settings(values: Any) -> DPoPSettings:
    """The settings from ``values(KEY)``, refusing the combination that cannot work."""
    settings = DPoPSettings(values(MODE_KEY), values(ALGORITHMS_KEY), values(IAT_WINDOW_KEY),
                            values(NONCES_KEY), values(NONCE_LIFETIME_KEY),
                            values(NONCE_SECRET_KEY), values(REPLAY_MEMORY_KEY),
                            values(METHODS_KEY))
    if settings.enabled and settings.nonces and settings.nonce_secret is None:
        raise OTCAuthConfigError(
            "OTC_AUTH_DPOP_NONCES is on but OTC_AUTH_DPOP_NONCE_SECRET is not set: set it to "
            "a secret of at least 32 bytes, the same in every worker.")
    return settings
