"""Mutual TLS: the client certificate is the credential (RFC 8705's resource-server side).

The certificate comes from the one configured source (:mod:`..mtls_source`); its chain is
validated against the configured CA bundle (:mod:`..mtls_certs`) or, without one, must come
from a TLS server or proxy that verified it. Who the caller is comes from a certificate
record (the SHA-256 of the DER, with the fields of an API key record) or from the first rule
whose SPIFFE ID, DNS name or subject CN the certificate carries. A certificate that is neither
recorded nor matched proves nothing this server knows: 401.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from ..config_keys import ConfigKey
from ..identity import Identity
from ..keys import KeyRecord
from ..mtls_certs import Presented, names, not_expired, refusal
from ..mtls_source import CLIENT_CERT, CertificateSource
from ..refusals import (
    INVALID_CLIENT_CERTIFICATE,
    UNTRUSTED_CERTIFICATE_HEADER,
    AuthFailure,
    OTCAuthConfigError,
)
from ..scopes import SCOPELESS_GRANTS
from .base import REALM, AuthMethod, AuthRequest, Report, SchemeObject, Setup, TestRequest
from .mtls_config import CERTIFICATES_KEY, KEYS, RULES_KEY, Rule, read_source

METHOD: Final = "mtls"


@dataclass(frozen=True, slots=True)
class MtlsSettings:
    source: CertificateSource | None
    records: Mapping[bytes, KeyRecord]
    rules: tuple[Rule, ...]


class MtlsScheme:
    """Accepts a client certificate the source presents and a record or rule knows."""

    method: Final = METHOD
    credential_hint: Final = "a client certificate in the TLS handshake (mutual TLS)"

    def __init__(self, settings: MtlsSettings, scopeless_grants: frozenset[str]) -> None:
        if settings.source is None:
            raise OTCAuthConfigError("OTC_AUTH_MTLS_SOURCE is not set.")
        self._source = settings.source
        self._records = settings.records
        self._rules = settings.rules
        self._scopeless = scopeless_grants
        self._challenge = f'Mutual-TLS realm="{REALM}"'

    def extract(self, request: AuthRequest) -> Presented | None:
        return self._source.presented(request)

    def verify(self, credential: Presented, now: float) -> Identity:
        validator = self._source.validator
        if validator is not None:
            validator.validate(credential, now)
        elif not credential.proxy_verified:
            raise refusal("The proxy did not verify the certificate and this server has no "
                          "OTC_AUTH_MTLS_CA_BUNDLE to verify it against.")
        else:
            not_expired(credential.certificate, now)
        claims = MappingProxyType({"x5t#S256": credential.x5t_s256})
        record = self._records.get(credential.sha256)
        if record is not None:
            if record.refusal(now) is not None:
                raise refusal("The certificate's record is expired, disabled or not yet valid.")
            scopes, source = ((record.scopes, f'certificate record "{record.id}"')
                              if record.scopes is not None
                              else (self._scopeless, SCOPELESS_GRANTS))
            return Identity(method=METHOD, subject=record.id, client=record.id, claims=claims,
                            scopes=scopes, tenant=record.tenant, scope_source=source,
                            policy=record.policy, budget=record.budget)
        rule = self._rule(credential)
        if rule is None:
            raise refusal("The certificate is valid but no certificate record or rule of this "
                          "server names it.")
        return Identity(method=METHOD, subject=rule.subject, client=rule.subject, claims=claims,
                        scopes=rule.scopes, tenant=rule.tenant,
                        scope_source=f"OTC_AUTH_MTLS_RULES {rule.kind} {rule.value}")

    def _rule(self, credential: Presented) -> Rule | None:
        spiffe, dns, cn = names(credential.certificate)
        for rule in self._rules:
            if ((rule.kind == "spiffe" and rule.value in spiffe)
                    or (rule.kind == "dns" and rule.value in dns)
                    or (rule.kind == "cn" and rule.value == cn)):
                return rule
        return None

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._challenge


class MtlsMethod(AuthMethod[MtlsSettings]):
    """``mtls``: a client certificate, from the TLS connection or a trusted proxy's header."""

    name = METHOD
    keys = KEYS
    refusals = (INVALID_CLIENT_CERTIFICATE, UNTRUSTED_CERTIFICATE_HEADER)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> MtlsSettings:
        return MtlsSettings(read_source(values), values(CERTIFICATES_KEY), values(RULES_KEY))

    def check_enabled(self, settings: MtlsSettings, context: Mapping[str, Any]) -> None:
        if settings.source is None:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "mtls" but OTC_AUTH_MTLS_SOURCE '
                                     'is not set: set it to "tls", "client-cert", "nginx", '
                                     '"envoy" or "traefik".')
        if not settings.records and not settings.rules:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "mtls" but neither '
                                     "OTC_AUTH_MTLS_CERTIFICATES nor OTC_AUTH_MTLS_RULES names "
                                     "a certificate: add a record or a rule.")
        if settings.rules and settings.source.validator is None and settings.source.kind in (
                CLIENT_CERT,):
            raise OTCAuthConfigError("OTC_AUTH_MTLS_RULES match on names any CA could write: "
                                     'with OTC_AUTH_MTLS_SOURCE "client-cert" set '
                                     "OTC_AUTH_MTLS_CA_BUNDLE so the app validates the chain.")

    def build(self, settings: MtlsSettings, setup: Setup) -> MtlsScheme:
        return MtlsScheme(settings, setup.scopeless_grants or frozenset())

    def security_scheme(self, settings: MtlsSettings) -> SchemeObject:
        return {"type": "mutualTLS",
                "description": "A client certificate (mutual TLS, RFC 8705) this server knows "
                               "by fingerprint or by its SPIFFE ID, DNS name or CN; others are "
                               "rejected with 401 Unauthorized."}

    def describe(self, settings: MtlsSettings, report: Report) -> None:
        source = settings.source
        report.lines.append(
            f"mtls: source {source.kind if source else 'none'}, "
            f"{len(settings.records)} certificate record(s), {len(settings.rules)} rule(s), "
            + ("chains validated against the CA bundle" if source and source.validator
               else "chains trusted as the TLS server or proxy verified them"))

    def test_headers(self, settings: MtlsSettings, request: TestRequest) -> dict[str, str]:
        der = request.options.get("certificate")
        if settings.source is None or settings.source.kind != CLIENT_CERT or not isinstance(
                der, bytes):
            raise ValueError('mtls test headers need OTC_AUTH_MTLS_SOURCE "client-cert" and '
                             "certificate=<DER bytes>.")
        return {"Client-Cert": ":" + base64.b64encode(der).decode("ascii") + ":"}


MTLS: Final = MtlsMethod()
