"""Step-up authentication (RFC 9470): a view or tool that needs a stronger or more recent
user authentication than the caller's token proves; Flask-free.

A requirement names ``acr`` values (authentication context classes, one of which the token's
``acr`` claim must be) and a ``max_age`` (seconds since the token's ``auth_time``). A token
that does not meet it is refused with ``401`` and the RFC 9470 section 3 challenge
(``error="insufficient_user_authentication"``, ``acr_values``, ``max_age``), which an OAuth
client reads as "send the user to the authorization server again, with these parameters".

Only a credential that carries an authentication context can ever meet one: an ``oauth``
token (issued by an authorization server, which can be asked for ``acr`` and a fresh
``auth_time``), or a token of another method that carries ``acr`` or ``auth_time``. An API key,
an hmac signature, a client certificate or an OTC token without either claim proves no user
authentication at all; asking it to authenticate again would be a challenge nobody can answer,
so it is refused with ``403`` and a developer message that says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .identity import Identity
from .refusals import (
    AUTHENTICATION_CONTEXT_REQUIRED,
    INSUFFICIENT_USER_AUTHENTICATION,
    AuthFailure,
    OTCAuthConfigError,
)

OAUTH_METHOD: Final = "oauth"
STEP_UP_CLAIMS: Final = ("acr", "auth_time")
FUTURE_LEEWAY_SECONDS: Final = 60
"""An ``auth_time`` this far ahead of the server's clock still counts as just now (skew)."""
_ACR_VALUE_CHARACTERS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%")

@dataclass(frozen=True, slots=True)
class StepUp:
    """What a view or tool asks of the caller's user authentication: its ``acr`` among
    ``acr_values`` (in the order of preference the challenge lists them), and its
    ``auth_time`` at most ``max_age`` seconds ago (``None``: any age)."""

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None

    def challenge_parameters(self, description: str) -> str:
        """The RFC 9470 section 3 auth-params, after the scheme's own: every parameter of the
        requirement, so one challenge says all a new token must meet (``max_age`` quoted, as
        in the RFC's example)."""
        value = (f'error="{INSUFFICIENT_USER_AUTHENTICATION.code}", '
                 f'error_description="{description}"')
        if self.acr_values:
            value += f', acr_values="{" ".join(self.acr_values)}"'
        if self.max_age is not None:
            value += f', max_age="{self.max_age}"'
        return value


def step_up(acr_values: Iterable[str] = (), max_age: int | None = None, *,
            where: str = "require_auth") -> StepUp | None:
    """The requirement ``acr_values``/``max_age`` describe, checked, or ``None`` for none; an
    error names ``where`` it was declared."""
    if isinstance(acr_values, str):
        raise OTCAuthConfigError(f"{where}: acr_values must be a list of acr values, not the "
                                 f"string {acr_values!r}.")
    values = tuple(dict.fromkeys(acr_values))
    for value in values:
        if not isinstance(value, str) or not value or not set(value) <= _ACR_VALUE_CHARACTERS:
            raise OTCAuthConfigError(f"{where}: the acr value {value!r} must be a non-empty "
                                     "string of URI characters, without spaces or quotes.")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)
                                or max_age < 0):
        raise OTCAuthConfigError(f"{where}: max_age must be a whole number of seconds >= 0, or "
                                 f"None, got {max_age!r}.")
    return StepUp(values, max_age) if values or max_age is not None else None


def carries_authentication_context(identity: Identity) -> bool:
    """Whether ``identity`` could ever meet a step-up requirement (see the module)."""
    claims = identity.claims
    return identity.method == OAUTH_METHOD or any(claim in claims for claim in STEP_UP_CLAIMS)


def step_up_failure(identity: Identity, requirement: StepUp, now: float) -> AuthFailure | None:
    """The refusal of ``identity`` under ``requirement`` at ``now``, or ``None`` to let it in.

    The ``acr`` is compared exactly (RFC 9470 section 6.1: the resource server decides what
    it accepts); an ``auth_time`` that is missing, not a number, or further in the future
    than the clock skew counts as too old. ``failure.step_up`` holds the challenge's parameters."""
    if not carries_authentication_context(identity):
        return AUTHENTICATION_CONTEXT_REQUIRED.failure(verified=True,
                                                      caller=identity.rate_limit_key)
    claims = identity.claims
    if requirement.acr_values and claims.get("acr") not in requirement.acr_values:
        description = "A different authentication level is required"
    elif requirement.max_age is not None and not _recent(claims.get("auth_time"),
                                                         requirement.max_age, now):
        description = "More recent authentication is required"
    else:
        return None
    failure = INSUFFICIENT_USER_AUTHENTICATION.failure(
        f"{INSUFFICIENT_USER_AUTHENTICATION.hint} {description}.", method=identity.method,
        verified=True, caller=identity.rate_limit_key)
    failure.step_up = requirement.challenge_parameters(description)
    return failure


def _recent(auth_time: object, max_age: int, now: float) -> bool:
    if isinstance(auth_time, bool) or not isinstance(auth_time, (int, float)):
        return False
    return auth_time <= now + FUTURE_LEEWAY_SECONDS and now - auth_time <= max_age
