"""Client certificates: decoding what a proxy forwards, and validating the chain; Flask-free.

Every header form is decoded strictly (one header, one encoding, a size cap, nothing left
over), so a value a proxy could not have written is refused rather than guessed at. The chain
is validated by ``cryptography``'s X.509 verifier (RFC 5280 path building with the WebPKI
profile: validity period, ``clientAuth`` extended key usage, basic constraints) against the
configured CA bundle, never by hand.

One deviation from the verifier's default profile, on purpose: RFC 5280 section 4.2.1.6 says
the subjectAltName extension SHOULD be non-critical when the subject is non-empty; the WebPKI
profile makes that a MUST and refuses such certificates. Private client PKIs issue them (the
RFC 9440 Appendix A example certificate is one: subject ``CN=BC`` with a critical SAN), and a
critical SAN only asks a verifier to understand it, which this one does. So the end-entity
policy lets the SAN be present with either criticality; everything else stays WebPKI's.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from .refusals import INVALID_CLIENT_CERTIFICATE, AuthFailure, OTCAuthConfigError

PEM_BEGIN: Final = "-----BEGIN CERTIFICATE-----"
PEM_END: Final = "-----END CERTIFICATE-----"
RFC9440_ROOT: Final = """-----BEGIN CERTIFICATE-----
MIICBjCCAaygAwIBAgIJAKS0yiqKtlhoMAoGCCqGSM49BAMCMFYxCzAJBgNVBAYT
AlVTMRswGQYDVQQKDBJMZXQncyBBdXRoZW50aWNhdGUxKjAoBgNVBAMMIUxldCdz
IEF1dGhlbnRpY2F0ZSBSb290IEF1dGhvcml0eTAeFw0yMDAxMTQyMTI1NDVaFw00
MDAxMDkyMTI1NDVaMFYxCzAJBgNVBAYTAlVTMRswGQYDVQQKDBJMZXQncyBBdXRo
ZW50aWNhdGUxKjAoBgNVBAMMIUxldCdzIEF1dGhlbnRpY2F0ZSBSb290IEF1dGhv
cml0eTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFoaHU+Z5bPKmGzlYXtCf+E6
HYj62fORaHDOrt+yyh3H/rTcs7ynFfGn+gyFsrSP3Ez88rajv+U2NfD0o0uZ4Pmj
YzBhMB0GA1UdDgQWBBTEA2Q6eecKu9g9yb5glbkhhVINGDAfBgNVHSMEGDAWgBTE
A2Q6eecKu9g9yb5glbkhhVINGDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQE
AwIBhjAKBggqhkjOPQQDAgNIADBFAiEAmAeg1ycKHriqHnaD4M/UDBpQRpkmdcRF
YGMg1Qyrkx4CIB4ivz3wQcQkGhcsUZ1SOImd/lq1Q0FLf09rGfLQPWDc
-----END CERTIFICATE-----
"""
"""RFC 9440 Appendix A's root CA ("Let's Authenticate Root Authority"): the configuration
page's example of a bundle given as PEM text."""
_BASE64: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def refusal(hint: str) -> AuthFailure:
    return INVALID_CLIENT_CERTIFICATE.failure(hint, method="mtls")


def thumbprint(der: bytes) -> str:
    """RFC 8705 section 3.1: ``x5t#S256``, the base64url SHA-256 of the DER, unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Presented:
    """A client certificate as it reached the app, with the chain sent along and whether the
    proxy says it verified the chain itself (nginx ``$ssl_client_verify = SUCCESS``)."""

    certificate: x509.Certificate
    der: bytes
    chain: tuple[x509.Certificate, ...] = ()
    proxy_verified: bool = False

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.der).digest()

    @property
    def x5t_s256(self) -> str:
        return thumbprint(self.der)


def from_der(der: bytes, where: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise refusal(f"{where} does not hold a DER X.509 certificate.") from None


def strict_base64(text: str | bytes, where: str) -> bytes:
    """Standard base64 with its padding, nothing else (no whitespace, no URL alphabet)."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    if not data or not set(data) <= _BASE64:
        raise refusal(f"{where} is not base64.")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise refusal(f"{where} is not base64 with its padding.") from None


def from_pem(pem: str, where: str) -> tuple[x509.Certificate, bytes]:
    """Exactly one PEM certificate, armour and all; its DER is what a thumbprint covers."""
    text = pem.strip()
    if (not text.startswith(PEM_BEGIN) or not text.endswith(PEM_END)
            or text.count(PEM_BEGIN) != 1):
        raise refusal(f"{where} must hold exactly one PEM certificate.")
    body = "".join(text[len(PEM_BEGIN):-len(PEM_END)].split())
    der = strict_base64(body, where)
    return from_der(der, where), der


def from_escaped_pem(value: str, where: str) -> tuple[x509.Certificate, bytes]:
    """nginx's ``$ssl_client_escaped_cert`` and Envoy's ``Cert=``: URL-encoded PEM."""
    try:
        pem = unquote_to_bytes(value).decode("ascii")
    except UnicodeDecodeError:
        raise refusal(f"{where} is not URL-encoded ASCII PEM.") from None
    return from_pem(pem, where)


def not_expired(certificate: x509.Certificate, now: float) -> None:
    """The validity period alone, for a certificate whose chain someone else validated."""
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    if moment < certificate.not_valid_before_utc:
        raise refusal("The client certificate is not valid yet.")
    if moment > certificate.not_valid_after_utc:
        raise refusal("The client certificate has expired.")


class ChainValidator:
    """The configured CA bundle and the client-verifier policy; one per app."""

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        self._store = Store(list(roots))
        self._ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        self._ca_policy = ExtensionPolicy.webpki_defaults_ca()

    def validate(self, presented: Presented, now: float) -> None:
        """Refuse a certificate that does not chain to the bundle at ``now``, lacks the
        ``clientAuth`` extended key usage, or breaks the profile."""
        moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        verifier = (PolicyBuilder().store(self._store).time(moment)
                    .extension_policies(ca_policy=self._ca_policy, ee_policy=self._ee_policy)
                    .build_client_verifier())
        try:
            verifier.verify(presented.certificate, list(presented.chain))
        except VerificationError as error:
            raise refusal(f"The client certificate does not validate: {_reason(error)}") from None


def _reason(error: VerificationError) -> str:
    """The verifier's reason without the certificate dump it appends."""
    text = str(error)
    text = text.removeprefix("validation failed: ")
    return text.split(" (encountered processing", 1)[0][:200]


def load_bundle(value: object, name: str) -> ChainValidator | None:
    """The CA bundle key: a path to a PEM file of one or more CA certificates, or the PEM."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise OTCAuthConfigError(f"{name} must be the path of a PEM file of CA certificates.")
    if value.lstrip().startswith(PEM_BEGIN):  # the PEM text itself, from an env variable
        try:
            return ChainValidator(x509.load_pem_x509_certificates(value.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise OTCAuthConfigError(f"{name} holds PEM text that does not parse.") from None
    try:
        with open(value, "rb") as handle:
            roots = x509.load_pem_x509_certificates(handle.read())
    except OSError as error:
        raise OTCAuthConfigError(f"{name} names {value}, which cannot be read "
                                 f"({error.strerror}).") from None
    except ValueError:
        raise OTCAuthConfigError(f"{name} names {value}, which holds no PEM certificate.") from None
    return ChainValidator(roots)


def names(certificate: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """The SPIFFE IDs (``spiffe://`` URI SANs), DNS SANs and subject CN rules match on."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = tuple(u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
                     if u.startswith("spiffe://"))
        dns = tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        uris, dns = (), ()
    common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = common[0].value if len(common) == 1 else None
    return uris, dns, cn if isinstance(cn, str) else None
