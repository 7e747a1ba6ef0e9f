"""Errors of the verification core; free of Flask so the schemes can raise them anywhere.

:class:`AuthFailure` is what a scheme or a check raises when a request must be refused. The Flask
layer (:mod:`flask_otcauth.responses`) turns it into the JSON body and headers the client sees, so
every refusal, whichever part of the path it comes from, has one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.developer_message}"


def missing_credentials(accepted: str) -> AuthFailure:
    return AuthFailure(
        401,
        "missing_credentials",
        "Authentication required.",
        f"Send one of: {accepted}.",
    )


def invalid_credential(method: str, code: str, message: str, hint: str) -> AuthFailure:
    return AuthFailure(401, code, message, hint, method=method)


def key_lookup_unavailable() -> AuthFailure:
    """The key store failed: neither the client's fault nor a failed attempt (not counted)."""
    return AuthFailure(
        503,
        "key_lookup_unavailable",
        "The server cannot check API keys right now. Retry later.",
        "The server's API key store did not answer; this says nothing about your key.",
        method="api_key",
        retry_after=5,
    )


def rate_limited(code: str, hint: str, retry_after: int) -> AuthFailure:
    return AuthFailure(
        429,
        code,
        "Too many requests. Retry later.",
        hint,
        retry_after=max(1, retry_after),
    )


def temporarily_unavailable(hint: str, retry_after: int) -> AuthFailure:
    """A check that must fail closed could not be made (its shared storage is down): 503."""
    return AuthFailure(
        503,
        "temporarily_unavailable",
        "Authentication is temporarily unavailable. Retry later.",
        hint,
        retry_after=retry_after,
    )
