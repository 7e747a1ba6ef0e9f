"""HMAC request signatures (RFC 9421, hmac-sha256 with a shared secret per client): the method.

This module declares it: its keys, settings, OpenAPI scheme, ``check`` lines and the test
client's signed headers. :mod:`.hmac_scheme` verifies each signed request (the profile, the
signature, the digest and the nonce's single use); :mod:`.hmac_config` parses the clients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ...client.signing import sign_request
from ..config_keys import SECRET_HINT, ConfigKey
from ..dpop_binding import describe_dpop, with_dpop
from ..dpop_config import DPoPSettings, dpop_settings
from ..identity import sha256
from ..refusals import (
    INVALID_DPOP_PROOF,
    INVALID_SIGNATURE,
    TEMPORARILY_UNAVAILABLE,
    USE_DPOP_NONCE,
    OTCAuthConfigError,
)
from ..scopes import SCOPELESS_GRANTS
from ..strength import strength
from .base import AuthMethod, Report, Scheme, SchemeObject, Setup, TestRequest
from .hmac_config import CLIENTS_KEY, LEEWAY_KEY, MAX_AGE_KEY, HmacSettingsClients
from .hmac_scheme import HmacScheme, SignedRequest

LARGE_LEEWAY_SECONDS: Final = 60


@dataclass(frozen=True, slots=True)
class HmacSettings:
    clients: tuple[tuple[str, tuple[bytes, ...]], ...]
    client_scopes: Mapping[str, frozenset[str]]
    max_age: int
    leeway: int
    labelled: HmacSettingsClients = field(repr=False)
    dpop: DPoPSettings = field(default_factory=DPoPSettings)


class HmacMethod(AuthMethod[HmacSettings]):
    """``hmac``: RFC 9421 request signatures with a shared secret per client."""

    name = "hmac"
    keys = (CLIENTS_KEY, MAX_AGE_KEY, LEEWAY_KEY)
    refusals = (INVALID_SIGNATURE, TEMPORARILY_UNAVAILABLE, INVALID_DPOP_PROOF, USE_DPOP_NONCE)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> HmacSettings:
        labelled: HmacSettingsClients = values(CLIENTS_KEY)
        clients = tuple((client_id, tuple(secret for _, secret in secrets))
                        for client_id, secrets in labelled.labelled)
        return HmacSettings(clients, labelled.scopes, values(MAX_AGE_KEY), values(LEEWAY_KEY),
                            labelled, dpop_settings(values).for_method(self.name))

    def check_enabled(self, settings: HmacSettings, context: Mapping[str, Any]) -> None:
        if not settings.clients:
            raise OTCAuthConfigError(
                'OTC_AUTH_METHODS enables "hmac" but OTC_AUTH_HMAC_CLIENTS is empty: add '
                '{"client-id": "secret"} for each signing client, or remove "hmac" from '
                "OTC_AUTH_METHODS.")

    def secrets(self, settings: HmacSettings) -> Iterable[tuple[str, bytes]]:
        for _, secrets in settings.labelled.labelled:
            for label, secret in secrets:
                yield label, sha256(secret)

    def build(self, settings: HmacSettings, setup: Setup) -> Scheme:
        scheme = HmacScheme(settings.clients, max_age=settings.max_age, leeway=settings.leeway,
                            nonces=setup.storage, scopes=settings.client_scopes,
                            scopeless_grants=setup.scopeless_grants or frozenset(),
                            policies=settings.labelled.policies,
                            thumbprints=settings.labelled.thumbprints)
        return with_dpop(scheme, settings.dpop, setup.storage,
                         identity_of=scheme.signed_identity, token_of=_no_token)

    def security_scheme(self, settings: HmacSettings) -> SchemeObject:
        # OpenAPI has no type for RFC 9421 signatures; apiKey-in-header names its header.
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Signature",
            "description": (
                "HTTP Message Signatures (RFC 9421), hmac-sha256 with the client's shared "
                "secret: `Signature-Input` with keyid (the client id), created, nonce and "
                'alg="hmac-sha256" covering "@method" "@authority" "@path" "@query" '
                '"content-digest"; `Signature`; and `Content-Digest` (RFC 9530, sha-256 of the '
                f"exact body). Signatures older than {settings.max_age} seconds and reused "
                "nonces are rejected with 401 Unauthorized."
            ),
        }

    def describe(self, settings: HmacSettings, report: Report) -> None:
        report.lines.append(f"hmac: {len(settings.clients)} signing client(s), max age "
                            f"{settings.max_age} s, leeway {settings.leeway} s, nonces in "
                            f"{report.storage_uri}")
        describe_dpop(self.name, settings.dpop, report)
        for client_id, secrets in settings.clients:
            scopes = settings.client_scopes.get(client_id)
            report.lines.append(f'  "{client_id}", {len(secrets)} secret(s), scopes: '
                                + (f"none given ({SCOPELESS_GRANTS})" if scopes is None
                                   else " ".join(sorted(scopes)) or "(none)")
                                + (", policy" if client_id in settings.labelled.policies
                                   else ""))
        for _, labelled in settings.labelled.labelled:
            for where, secret in labelled:
                estimate = strength(secret)
                if estimate.weak:
                    report.warnings.append(f"{where} {estimate.describe()}: anyone who guesses "
                                           f"it signs as that client; replace it ({SECRET_HINT}).")
        if settings.leeway > LARGE_LEEWAY_SECONDS:
            report.warnings.append(f"OTC_AUTH_HMAC_LEEWAY is {settings.leeway} s: signatures "
                                   "dated that far in the future are accepted; fix the clocks "
                                   "(NTP) and lower it.")
        if report.storage_uri.startswith("memory://") and report.workers > 1:
            report.warnings.append(f"hmac nonces in memory:// with {report.workers} workers: a "
                                   "signed request can be replayed once per worker; use "
                                   "redis://.")

    def test_headers(self, settings: HmacSettings, request: TestRequest) -> dict[str, str]:
        clients = dict(settings.clients)
        if not clients:
            raise ValueError("The app has no OTC_AUTH_HMAC_CLIENTS to sign as.")
        client_id = request.options.get("client_id") or next(iter(clients))
        headers = sign_request(request.method, request.url, key_id=client_id,
                               secret=clients[client_id][0], body=request.body)
        dpop_key = request.options.get("dpop_key")  # a DPoPKey: its proof, no token to hash
        if dpop_key is not None:
            headers["DPoP"] = dpop_key.proof(request.method, request.url)
        return headers


def _no_token(credential: SignedRequest) -> None:
    """A signed request carries no token: its DPoP proof has no ``ath`` to check."""
    return None


__all__ = ["HMAC", "HmacMethod", "HmacScheme", "HmacSettings", "SignedRequest"]

HMAC: Final = HmacMethod()
