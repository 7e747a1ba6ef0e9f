"""Every way a request can be refused, in one table; Flask-free.

A :class:`Refusal` is one row: the stable code a client sees, its status, the message a user
(or a model) may be shown, the default hint for whoever wires up a client, the level the audit
log records it at, and whether it counts as a failed attempt toward
``OTC_AUTH_FAILURE_RATELIMIT``. Methods and checks raise :class:`AuthFailure` from a row
(``INVALID_TOKEN.failure("...")``), never from loose strings, so the documentation's tables are
read from :data:`REFUSALS` and cannot miss a code. The Flask layer
(:mod:`flask_otcauth.responses`) turns a failure into the one JSON shape every refusal has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final


class OTCAuthConfigError(ValueError):
    """The application's configuration is unsafe or wrong; raised at setup, never per request.

    The message names the offending key and the fix. It never contains a secret's value.
    """


@dataclass(eq=False, slots=True)  # not frozen: a frozen exception costs 3 us to raise
class AuthFailure(Exception):  # noqa: N818 - a refusal, not a programming error
    """A request is refused.

    ``code`` is stable and machine-readable; ``message`` may be shown to a user or a model;
    ``developer_message`` helps whoever wires up a client and must never carry a credential.
    ``method`` names the scheme whose credential failed (``None`` when none was presented), so
    the Bearer challenge can say ``error="invalid_token"`` only when a token was actually sent.
    ``counts_as_failure`` and ``log_level`` come from the :class:`Refusal` it was raised from.

    ``verified`` is set when the credential itself verified (its signature or digest matched)
    and was refused all the same (expired, not yet valid, a foreign ``aud``...): the caller
    holds the secret, so the refusal is charged to its own request budget, under ``caller``
    (its rate-limit key; ``None`` for a caller without a name, counted by address), and never
    counted as a guess against its address. ``skew``, for a refusal by time, is how many
    seconds the deciding claim lies from the server's clock (``iat - now``, ``nbf - now`` or
    ``exp - now``), for the audit trail.
    """

    status: int
    code: str
    message: str
    developer_message: str
    method: str | None = None
    retry_after: int | None = None
    required_scopes: tuple[str, ...] = field(default=())
    # The audit trail's name for the refused credential (identity.credential_fingerprint).
    fingerprint: str | None = None
    counts_as_failure: bool = False
    log_level: int = logging.INFO
    verified: bool = False
    caller: str | None = None
    skew: float | None = None
    # Response headers the refusal needs (a DPoP-Nonce), and the auth scheme the credential
    # came under when a method reads several ("DPoP" beside "Bearer"), for its challenge.
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str | None = None
    # Which revocation entry refused the credential, for the audit trail (never the token).
    revocation: str | None = None
    # A step-up refusal's RFC 9470 challenge parameters (acr_values, max_age), after the
    # scheme of the method that verified the token.
    step_up: str | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.developer_message}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One row of the refusal table; :meth:`failure` makes the exception a check raises."""

    code: str
    status: int
    message: str
    hint: str
    log_level: int = logging.INFO
    counts_as_failure: bool = False
    retry_after: int | None = None

    def failure(
        self, hint: str | None = None, *, method: str | None = None,
        retry_after: int | None = None, required_scopes: tuple[str, ...] = (),
        verified: bool = False, caller: str | None = None, skew: float | None = None,
    ) -> AuthFailure:
        """A new exception each time: raising one shared instance again and again would chain
        every traceback (and its frames) onto it, a leak a flood of bad credentials could grow.

        ``verified`` (with the ``caller``'s rate-limit key): the credential verified and is
        refused all the same, so this refusal is no failed attempt (see :class:`AuthFailure`).
        """
        return AuthFailure(self.status, self.code, self.message,
                           self.hint if hint is None else hint, method,
                           self.retry_after if retry_after is None else retry_after,
                           required_scopes, None, self.counts_as_failure and not verified,
                           self.log_level, verified, caller, skew)


MISSING_CREDENTIALS: Final = Refusal(
    "missing_credentials", 401, "Authentication required.",
    "Send a credential this server accepts.", counts_as_failure=True)
INVALID_TOKEN: Final = Refusal(
    "invalid_token", 401, "The bearer token is not valid.",
    "Send a valid token as Authorization: Bearer <JWT>.", counts_as_failure=True)
INVALID_API_KEY: Final = Refusal(
    "invalid_api_key", 401, "The API key is not valid.",
    "Send a valid key in the API key header.", counts_as_failure=True)
INVALID_SIGNATURE: Final = Refusal(
    "invalid_signature", 401, "The request signature is not valid.",
    "Sign the request with the client's current secret (RFC 9421).", counts_as_failure=True)
HTTPS_REQUIRED: Final = Refusal(
    "https_required", 403, "Credentials must be sent over HTTPS.",
    "This server refuses credentials sent over plain HTTP: use its https:// URL, and "
    "consider the credential exposed. Behind a TLS-terminating proxy the app must apply "
    "werkzeug.middleware.proxy_fix.ProxyFix(x_proto=1).")
INSUFFICIENT_SCOPE: Final = Refusal(
    "insufficient_scope", 403,
    "The credential is valid but lacks the permission for this request.",
    "This request needs scopes the credential does not grant.")
IP_NOT_ALLOWED: Final = Refusal(
    # A policy's address rule, or a token bound to other addresses: counted, as a guess is.
    "ip_not_allowed", 403, "This credential may not be used from this address.",
    "The credential's policy does not allow requests from this client address.",
    counts_as_failure=True)
OUTSIDE_ALLOWED_HOURS: Final = Refusal(
    "outside_allowed_hours", 403, "This credential may not be used at this time.",
    "The credential's policy allows it only on certain days and hours.")
ENDPOINT_NOT_ALLOWED: Final = Refusal(
    "endpoint_not_allowed", 403, "This credential may not be used for this request.",
    "The credential's policy does not allow it to reach this endpoint or tool.")
CREDENTIAL_REVOKED: Final = Refusal(
    # Revoked by the operator: whoever still sends it is counted, as a guess is.
    "credential_revoked", 401, "This credential has been revoked.",
    "The server's operator revoked this token, cut off its subject, client or tenant, or "
    "disabled this key: get a new credential.", counts_as_failure=True)
RATE_LIMITED: Final = Refusal(
    "rate_limited", 429, "Too many requests. Retry later.",
    "More requests than this caller's limit.", log_level=logging.WARNING)
TOO_MANY_FAILED_ATTEMPTS: Final = Refusal(
    "too_many_failed_attempts", 429, "Too many requests. Retry later.",
    "Too many failed authentication attempts from this address.", log_level=logging.WARNING)
KEY_LOOKUP_UNAVAILABLE: Final = Refusal(
    # The key store failed: neither the client's fault nor a failed attempt.
    "key_lookup_unavailable", 503, "The server cannot check API keys right now. Retry later.",
    "The server's API key store did not answer; this says nothing about your key.",
    log_level=logging.WARNING, retry_after=5)
TEMPORARILY_UNAVAILABLE: Final = Refusal(
    # A check that must fail closed could not be made (its shared storage is down).
    "temporarily_unavailable", 503, "Authentication is temporarily unavailable. Retry later.",
    "A check that must fail closed could not be made; the request was not accepted.",
    log_level=logging.WARNING, retry_after=5)
INVALID_CLIENT_CERTIFICATE: Final = Refusal(
    "invalid_client_certificate", 401, "The client certificate is not valid.",
    "Connect with a client certificate this server trusts (mutual TLS): issued by its CA, "
    "within its validity period, for client authentication, and known to the server.",
    counts_as_failure=True)
UNTRUSTED_CERTIFICATE_HEADER: Final = Refusal(
    # A certificate header from anyone but the configured proxy is a forgery attempt.
    "untrusted_certificate_header", 401,
    "The request carries a client certificate header this server does not trust.",
    "Client certificate headers count only when the configured proxy sets them: connect "
    "through that proxy with your certificate, and never send such a header yourself.",
    counts_as_failure=True)

INVALID_DPOP_PROOF: Final = Refusal(
    "invalid_dpop_proof", 401, "The DPoP proof is not valid.",
    "Send one DPoP header with a new proof for this request, signed with the key the token is "
    "bound to (RFC 9449).", counts_as_failure=True)
USE_DPOP_NONCE: Final = Refusal(
    "use_dpop_nonce", 401, "The DPoP proof must carry the server's nonce.",
    "Make a new proof with the DPoP-Nonce response header's value as its nonce claim, and "
    "send the request again (RFC 9449 section 9).", counts_as_failure=True)
INVALID_TOOL_CALL: Final = Refusal(
    # Only where the app declares what tools need (OTC_AUTH_TOOL_SCOPES, auth.tool).
    "invalid_tool_call", 400, "The tool call is malformed.",
    "This server decides per tool who may call it, and could not read which tool this call "
    "names: send a JSON body with Content-Length, within the server's MAX_CONTENT_LENGTH, "
    "naming the tool in request.tool_id as Toolkit.Name or Toolkit.Name@x.y.z.")

INSUFFICIENT_USER_AUTHENTICATION: Final = Refusal(
    # RFC 9470 section 3: the token verified (raised verified=True: no failed attempt), but its
    # user authentication is too weak or too old.
    "insufficient_user_authentication", 401,
    "This request needs a stronger or more recent sign-in.",
    "The token's user authentication does not meet this request's requirement: get a new "
    "token from the authorization server with the acr_values and max_age of the "
    "WWW-Authenticate challenge (RFC 9470 section 4).", counts_as_failure=True)
AUTHENTICATION_CONTEXT_REQUIRED: Final = Refusal(
    "authentication_context_required", 403,
    "This request needs a signed-in user; this credential cannot prove one.",
    "This request requires a user authentication of a given strength or age (RFC 9470), and "
    "the credential carries none: an API key, a request signature, a client certificate or a "
    "token without acr and auth_time proves no user sign-in, so it can never meet the "
    "requirement. Call with an OAuth access token whose authorization server sets acr and "
    "auth_time.")


BUDGET_EXHAUSTED: Final = Refusal(
    # Denial-of-wallet: the caller's (or its tenant's) budget for the window is spent.
    "budget_exhausted", 429, "The budget for this credential is used up. Retry later.",
    "The calls of this window cost more than the credential's or its tenant's budget; "
    "Retry-After says when the window resets. RateLimit and RateLimit-Policy name the budget.",
    log_level=logging.WARNING)
TENANT_MISMATCH: Final = Refusal(
    "tenant_mismatch", 403, "This credential may not reach another tenant's resources.",
    "The credential is bound to a tenant, and this request names another one.")
TENANT_REQUIRED: Final = Refusal(
    "tenant_required", 403, "This request needs a credential bound to a tenant.",
    "The view is scoped to a tenant and the credential names none: use a credential of that "
    "tenant (a key record's tenant, a token's tenant claim), or configure it as an operator "
    "credential in OTC_AUTH_CROSS_TENANT_CALLERS.")
MISSING_TENANT: Final = Refusal(
    "missing_tenant", 400, "The request does not name its tenant.",
    "This view reads the tenant from the request, and the request does not carry it where the "
    "view says.")

REFUSALS: Final[tuple[Refusal, ...]] = (
    MISSING_CREDENTIALS, INVALID_TOKEN, INVALID_API_KEY, INVALID_SIGNATURE, HTTPS_REQUIRED,
    INSUFFICIENT_SCOPE, IP_NOT_ALLOWED, OUTSIDE_ALLOWED_HOURS, ENDPOINT_NOT_ALLOWED,
    CREDENTIAL_REVOKED, RATE_LIMITED, TOO_MANY_FAILED_ATTEMPTS, KEY_LOOKUP_UNAVAILABLE,
    TEMPORARILY_UNAVAILABLE, INVALID_DPOP_PROOF, USE_DPOP_NONCE, INVALID_CLIENT_CERTIFICATE,
    UNTRUSTED_CERTIFICATE_HEADER, INVALID_TOOL_CALL, INSUFFICIENT_USER_AUTHENTICATION,
    AUTHENTICATION_CONTEXT_REQUIRED, BUDGET_EXHAUSTED, TENANT_MISMATCH, TENANT_REQUIRED,
    MISSING_TENANT,
)
"""The built-in rows; a registered method adds its own through ``AuthMethod.refusals``."""
