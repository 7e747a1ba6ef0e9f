"""The mtls method's settings: where certificates come from, whom to trust, who is who.

The source keys are read by the ``mtls`` method and by ``oauth`` (a token bound to a
certificate, RFC 8705 section 3, is checked against the certificate the same source reads), so
one configuration says where the certificate is for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from ..config_keys import ConfigKey, boolean, optional_string
from ..keys import KeyRecord, parse_record
from ..mtls_certs import RFC9440_ROOT, ChainValidator, load_bundle
from ..mtls_source import SOURCES, TLS, CertificateSource, TrustedProxies, trusted_proxies
from ..refusals import OTCAuthConfigError
from ..scopes import ScopeError, checked_scopes

MATCHERS: Final = ("spiffe", "dns", "cn")
MAX_HEADER_BYTES: Final = 65536


def _source(value: Any, name: str) -> str | None:
    if value is not None and value not in SOURCES:
        raise OTCAuthConfigError(f"{name} must be one of " + ", ".join(f'"{s}"' for s in SOURCES)
                                 + f" or None, got {value!r}.")
    return value if isinstance(value, str) else None


def _header_bytes(value: Any, name: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, int)
            or not 1024 <= value <= MAX_HEADER_BYTES):
        raise OTCAuthConfigError(f"{name} must be a whole number of bytes in 1024-"
                                 f"{MAX_HEADER_BYTES}, got {value!r}.")
    return value


def _hops(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise OTCAuthConfigError(f"{name} must be the number of Envoy proxies (1-10), got "
                                 f"{value!r}.")
    return value


def _records(value: Any, name: str) -> Mapping[bytes, KeyRecord]:
    """Certificate records: API key records whose ``hash`` is the certificate's SHA-256."""
    if not isinstance(value, (list, tuple)):
        raise OTCAuthConfigError(f"{name} must be a list of certificate records.")
    records: dict[bytes, KeyRecord] = {}
    for index, entry in enumerate(value):
        record = parse_record(entry, f"{name}[{index}]")
        if record.digest in records:
            raise OTCAuthConfigError(f"{name}[{index}] repeats the fingerprint of another record.")
        records[record.digest] = record
    return MappingProxyType(records)


@dataclass(frozen=True, slots=True)
class Rule:
    """Scopes for every validated certificate whose SPIFFE ID, DNS SAN or CN is ``value``."""

    kind: str
    value: str
    subject: str
    scopes: frozenset[str]
    tenant: str | None


def _rules(value: Any, name: str) -> tuple[Rule, ...]:
    if not isinstance(value, (list, tuple)):
        raise OTCAuthConfigError(f"{name} must be a list of rules.")
    rules = []
    for index, entry in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(entry, Mapping):
            raise OTCAuthConfigError(f'{where} must be a rule such as {{"spiffe": '
                                     '"spiffe://example.org/agent", "scopes": [...]}.')
        unknown = set(entry) - {*MATCHERS, "scopes", "id", "tenant"}
        matchers = [kind for kind in MATCHERS if kind in entry]
        if unknown or len(matchers) != 1:
            raise OTCAuthConfigError(f"{where} must name exactly one of spiffe, dns, cn, with "
                                     "scopes and optionally id and tenant"
                                     + (f"; unknown fields {sorted(map(str, unknown))}"
                                        if unknown else "") + ".")
        kind = matchers[0]
        matched, subject, tenant = entry[kind], entry.get("id"), entry.get("tenant")
        if not isinstance(matched, str) or not matched or (
                kind == "spiffe" and not matched.startswith("spiffe://")):
            raise OTCAuthConfigError(f"{where}.{kind} must be a non-empty string"
                                     + (' starting with "spiffe://"' if kind == "spiffe" else "")
                                     + ".")
        for field_name, field_value in (("id", subject), ("tenant", tenant)):
            if field_value is not None and (not isinstance(field_value, str) or not field_value):
                raise OTCAuthConfigError(f"{where}.{field_name} must be a non-empty string.")
        try:
            scopes = checked_scopes(entry.get("scopes", []))
        except (ScopeError, TypeError):
            raise OTCAuthConfigError(f"{where}.scopes must be a list of scopes.") from None
        rules.append(Rule(kind, matched, subject or matched, scopes, tenant))
    return tuple(rules)


SOURCE_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_SOURCE", None,
    'Where the client certificate comes from: "tls" (the WSGI server\'s TLS connection, '
    'SSL_CLIENT_CERT), "client-cert" (RFC 9440 headers), "nginx", "envoy" or "traefik" (that '
    "proxy's header); None: no certificate is read.",
    type="str | None: " + ", ".join(SOURCES), example="tls",
    wrong="Not one of the sources; a header source without OTC_AUTH_MTLS_TRUSTED_PROXIES; "
          'None while "mtls" is enabled.', bad_example="haproxy", parse=_source)
TRUSTED_PROXIES_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_TRUSTED_PROXIES", None,
    "Who may set the certificate header: the proxies' addresses as CIDRs (checked against the "
    "connecting peer, before ProxyFix), or the number of proxies in front of the app (the "
    "request must have passed that many: X-Forwarded-For entries). A header from anyone else "
    "is refused and logged.",
    type="list[str] (CIDRs) | int (1-10) | None", example=["127.0.0.1/32", "10.0.0.0/8"],
    wrong="A CIDR that does not parse or has host bits set, a count outside 1-10, or unset "
          "with a header source.", bad_example=["10.0.0.1/8"], parse=trusted_proxies)
HEADER_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_HEADER", None,
    "The header the proxy writes the certificate into, when not its usual one (Client-Cert, "
    "X-Client-Cert for nginx, X-Forwarded-Client-Cert, X-Forwarded-Tls-Client-Cert).",
    type="str | None", example="X-SSL-Client-Cert", wrong="An empty string or not a string.",
    bad_example="", parse=optional_string)
VERIFY_HEADER_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_VERIFY_HEADER", "X-Client-Verify",
    "nginx: the header carrying $ssl_client_verify (SUCCESS, FAILED:reason or NONE).",
    type="str", example="X-SSL-Verify", wrong="Empty or not a string.", bad_example="",
    parse=lambda value, name: optional_string(value, name) or _missing(name))
XFCC_HOPS_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_XFCC_HOPS", 1,
    "envoy: how many Envoy proxies append to x-forwarded-client-cert; the header must hold "
    "exactly that many elements, and the first (the edge's) names the client certificate.",
    type="int (1-10)", example=2, wrong="Not a whole number in 1-10.", bad_example=0,
    parse=_hops)
MAX_HEADER_BYTES_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_MAX_HEADER_BYTES", 16384,
    "A certificate header longer than this is refused before it is decoded.",
    type="int (1024-65536)", example=8192, wrong="Not a whole number in 1024-65536.",
    bad_example=100, parse=_header_bytes)
CA_BUNDLE_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_CA_BUNDLE", None,
    "Path of a PEM file of the CAs that issue client certificates: set, the app validates "
    "every chain itself (validity, clientAuth EKU); needed whenever the proxy does not verify "
    "(nginx ssl_verify_client optional_no_ca, a passthrough load balancer).",
    type="str | None (path, or the PEM text)", example=RFC9440_ROOT,
    wrong="A path that cannot be read or holds no PEM certificate.",
    bad_example="/nonexistent/ca.pem", parse=load_bundle)
CERTIFICATES_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_CERTIFICATES", [],
    'Certificate records, as API key records with "hash": "sha256:<hex SHA-256 of the DER>" '
    '(openssl x509 -noout -fingerprint -sha256, colons removed, lowercase): "id", "scopes", '
    '"tenant", "expires_at", "not_before", "disabled", "policy".',
    type="list[dict]", example=[{"id": "agent", "hash": "sha256:" + "0" * 64,
                                 "scopes": ["tools:list"]}],
    wrong="Not a list, a record as API key records refuse it (field named), or a fingerprint "
          "given twice.", bad_example=[{"id": "agent", "hash": "AB:CD"}], parse=_records)
RULES_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_RULES", [],
    'Rules for validated certificates, first match wins: {"spiffe"|"dns"|"cn": value, '
    '"scopes": [...], "id": ..., "tenant": ...}.',
    type="list[dict]", example=[{"spiffe": "spiffe://example.org/agent", "scopes": ["tools:*"]}],
    wrong="Not a list, a rule with no or two matchers, an unknown field, or scopes that are "
          "not valid scopes.", bad_example=[{"spiffe": "agent"}], parse=_rules)
BOUND_TOKENS_KEY: Final = ConfigKey(
    "OTC_AUTH_MTLS_BOUND_TOKENS", False,
    "Advertise tls_client_certificate_bound_access_tokens: true in the RFC 9728 metadata. "
    "Tokens with cnf x5t#S256 are checked against the presented certificate either way.",
    type="bool", example=False, wrong="Not a bool.",
    bad_example="yes", parse=boolean)
SOURCE_KEYS: Final = (SOURCE_KEY, TRUSTED_PROXIES_KEY, HEADER_KEY, VERIFY_HEADER_KEY,
                      XFCC_HOPS_KEY, MAX_HEADER_BYTES_KEY, CA_BUNDLE_KEY, BOUND_TOKENS_KEY)
KEYS: Final = (*SOURCE_KEYS, CERTIFICATES_KEY, RULES_KEY)


def _missing(name: str) -> str:
    raise OTCAuthConfigError(f"{name} must name a header.")


def read_source(values: Callable[[ConfigKey], Any]) -> CertificateSource | None:
    """The configured source, or ``None``; a header source needs its trusted proxies."""
    kind = values(SOURCE_KEY)
    trusted: TrustedProxies | None = values(TRUSTED_PROXIES_KEY)
    validator: ChainValidator | None = values(CA_BUNDLE_KEY)
    header, verify_header = values(HEADER_KEY), values(VERIFY_HEADER_KEY)
    hops, max_bytes = values(XFCC_HOPS_KEY), values(MAX_HEADER_BYTES_KEY)
    values(BOUND_TOKENS_KEY)
    if kind is None:
        return None
    if kind != TLS and trusted is None:
        raise OTCAuthConfigError(
            f'OTC_AUTH_MTLS_SOURCE is "{kind}" but OTC_AUTH_MTLS_TRUSTED_PROXIES is not set: '
            "list the proxy's addresses (CIDRs) or its hop count, so a certificate header "
            "from anyone else is refused.")
    return CertificateSource(kind, trusted=trusted, header=header,
                             verify_header=verify_header, hops=hops, max_bytes=max_bytes,
                             validator=validator)
