"""Where a client certificate comes from: the TLS connection, or one proxy's header; Flask-free.

Each source is an explicit setting (``OTC_AUTH_MTLS_SOURCE``), never a guess among headers:
``tls`` reads the certificate the WSGI server took from the handshake (``SSL_CLIENT_CERT``);
``client-cert`` RFC 9440's ``Client-Cert``/``Client-Cert-Chain``; ``nginx``
``$ssl_client_escaped_cert`` with ``$ssl_client_verify``; ``envoy``
``x-forwarded-client-cert``; ``traefik`` ``X-Forwarded-Tls-Client-Cert``. A header counts only
on a request from a trusted proxy (``OTC_AUTH_MTLS_TRUSTED_PROXIES``: its addresses, or the
number of proxies in front of the app); from anyone else it is refused and logged, since a
client that sends one is forging a certificate it may not hold.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

import http_sf

from .mtls_certs import (
    ChainValidator,
    Presented,
    from_der,
    from_escaped_pem,
    from_pem,
    refusal,
    strict_base64,
)
from .policy_check import client_address, within
from .refusals import UNTRUSTED_CERTIFICATE_HEADER, OTCAuthConfigError

if TYPE_CHECKING:
    from .methods.base import AuthRequest

logger = logging.getLogger("flask_otcauth")

TLS: Final = "tls"
CLIENT_CERT: Final = "client-cert"
NGINX: Final = "nginx"
ENVOY: Final = "envoy"
TRAEFIK: Final = "traefik"
SOURCES: Final = (TLS, CLIENT_CERT, NGINX, ENVOY, TRAEFIK)
DEFAULT_HEADERS: Final = {CLIENT_CERT: "Client-Cert", NGINX: "X-Client-Cert",
                          ENVOY: "X-Forwarded-Client-Cert",
                          TRAEFIK: "X-Forwarded-Tls-Client-Cert"}
CHAIN_HEADER: Final = "Client-Cert-Chain"
CERTIFICATE_HEADERS: Final = (*DEFAULT_HEADERS.values(), CHAIN_HEADER)
"""Every header some proxy conveys a certificate in: a request must carry only its source's."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Who may set a certificate header: the peer's address in ``networks``, or, with a hop
    count, a request that passed ``hops`` proxies (each appends to ``X-Forwarded-For``)."""

    networks: tuple[Network, ...] = ()
    hops: int = 0

    def trust(self, request: AuthRequest) -> bool:
        if self.hops:
            forwarded = request.header("X-Forwarded-For")
            return forwarded is not None and len(forwarded.split(",")) >= self.hops
        # The policies' address rules: an IPv4-mapped peer (a dual-stack socket's) matches the
        # IPv4 ranges, a scope id is dropped, no address (a Unix socket) matches nothing.
        return within(client_address(request.connection().peer_address), self.networks)


def trusted_proxies(value: Any, name: str) -> TrustedProxies | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 10:
            raise OTCAuthConfigError(f"{name} as a hop count must be 1-10, got {value}.")
        return TrustedProxies(hops=value)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise OTCAuthConfigError(f'{name} must be a list of CIDRs such as ["10.0.0.0/8"] or '
                                 "a number of proxies (1-10).")
    networks = []
    for index, item in enumerate(items):
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except (TypeError, ValueError):
            raise OTCAuthConfigError(f"{name}[{index}] is {item!r}, not a CIDR such as "
                                     '"127.0.0.1/32" (host bits must be zero).') from None
    return TrustedProxies(networks=tuple(networks))


class CertificateSource:
    """Reads the presented certificate of a request from the one configured place."""

    def __init__(self, kind: str, *, trusted: TrustedProxies | None, header: str | None,
                 verify_header: str, hops: int, max_bytes: int,
                 validator: ChainValidator | None) -> None:
        self.kind = kind
        self.validator = validator
        self._trusted = trusted if trusted is not None else TrustedProxies()
        self._header = header or DEFAULT_HEADERS.get(kind, "")
        self._verify_header = verify_header
        self._hops = hops
        self._max_bytes = max_bytes
        self._others = tuple(name for name in CERTIFICATE_HEADERS
                             if name.lower() != self._header.lower()
                             and not (kind == CLIENT_CERT and name == CHAIN_HEADER))

    def presented(self, request: AuthRequest) -> Presented | None:
        """The certificate the request presents, ``None`` for none, or the refusal."""
        if self.kind == TLS:
            pem = request.connection().client_certificate
            if pem is None:
                return None
            certificate, der = from_pem(pem, "The TLS client certificate")
            return Presented(certificate, der, proxy_verified=True)
        value = request.header(self._header)
        chain_value = request.header(CHAIN_HEADER) if self.kind == CLIENT_CERT else None
        if value is None and chain_value is None:
            return None
        if not self._trusted.trust(request):
            logger.warning("otcauth: %s header from %s, which is not a trusted proxy: refused",
                           self._header, request.connection().peer_address or "an unknown peer")
            raise UNTRUSTED_CERTIFICATE_HEADER.failure(method="mtls")
        if value is None:
            raise refusal(f"{CHAIN_HEADER} came without {self._header}.")
        for other in self._others:
            if request.header(other) is not None:
                raise refusal(f"The request carries both {self._header} and {other}: a proxy "
                              "sends exactly one certificate header.")
        if len(value) > self._max_bytes or len(chain_value or "") > self._max_bytes:
            raise refusal(f"{self._header} is longer than {self._max_bytes} bytes "
                          "(OTC_AUTH_MTLS_MAX_HEADER_BYTES).")
        return self._decode(value, chain_value, request)

    def _decode(self, value: str, chain_value: str | None, request: AuthRequest) -> Presented:
        where = self._header
        if self.kind == CLIENT_CERT:
            der = _byte_sequence(value, where)
            chain = tuple(from_der(item, CHAIN_HEADER)
                          for item in _byte_sequences(chain_value or "", CHAIN_HEADER))
            return Presented(from_der(der, where), der, chain)
        if "," in value and self.kind != ENVOY:
            raise refusal(f"{where} holds a comma: the header was sent more than once.")
        if self.kind == NGINX:
            certificate, der = from_escaped_pem(value, where)
            verdict = request.header(self._verify_header)
            if verdict is None or verdict == "NONE":
                raise refusal(f"{where} came without {self._verify_header} naming the proxy's "
                              "verdict ($ssl_client_verify).")
            return Presented(certificate, der, proxy_verified=verdict == "SUCCESS")
        if self.kind == TRAEFIK:
            der = strict_base64(unquote(value), where)
            return Presented(from_der(der, where), der, proxy_verified=True)
        return self._envoy(value)

    def _envoy(self, value: str) -> Presented:
        """The first element of exactly ``hops`` (one per Envoy; the first is the edge's,
        which saw the client's certificate); any other count is a forged or missing hop."""
        where = self._header
        elements = [_xfcc_pairs(element, where) for element in _split(value, ",")]
        if len(elements) != self._hops:
            raise refusal(f"{where} holds {len(elements)} element(s); this server is behind "
                          f"{self._hops} Envoy hop(s) (OTC_AUTH_MTLS_XFCC_HOPS).")
        pairs = elements[0]
        if "Cert" not in pairs:
            raise refusal(f"{where} carries no Cert=: set forward_client_cert_details and "
                          "set_current_client_cert_details cert: true.")
        certificate, der = from_escaped_pem(pairs["Cert"], where)
        digest = pairs.get("Hash")
        if digest is not None and digest.lower() != Presented(certificate, der).sha256.hex():
            raise refusal(f"{where}'s Hash= does not match its Cert=.")
        return Presented(certificate, der, proxy_verified=True)


def _byte_sequence(value: str, where: str) -> bytes:
    """RFC 9440 section 2.1: one sf-binary (RFC 8941 section 3.3.5), without parameters."""
    try:
        item: Any = http_sf.parse(value.encode("ascii"), tltype="item")
    except (ValueError, TypeError, UnicodeEncodeError):
        raise refusal(f"{where} is not one structured-field byte sequence "
                      "(:base64 DER:).") from None
    if not isinstance(item[0], bytes) or item[1]:
        raise refusal(f"{where} must be one byte sequence without parameters.")
    return item[0]


def _byte_sequences(value: str, where: str) -> list[bytes]:
    if not value:
        return []
    try:
        members: Any = http_sf.parse(value.encode("ascii"), tltype="list")
    except (ValueError, TypeError, UnicodeEncodeError):
        raise refusal(f"{where} is not a list of byte sequences.") from None
    if not all(isinstance(member[0], bytes) for member in members):
        raise refusal(f"{where} must list byte sequences only.")
    return [member[0] for member in members]


def _split(value: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (XFCC quotes values holding , ; =)."""
    parts, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise refusal("X-Forwarded-Client-Cert has an unterminated quoted value.")
    parts.append("".join(current))
    return parts


def _xfcc_pairs(element: str, where: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for pair in _split(element, ";"):
        key, equals, raw = pair.strip().partition("=")
        if not equals or not key:
            raise refusal(f"{where} has a member that is not key=value.")
        if key in pairs and key not in ("URI", "DNS"):
            raise refusal(f"{where} names {key} twice in one element.")
        pairs[key] = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    return pairs

