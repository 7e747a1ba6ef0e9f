"""The revocation settings: off by default, read once at ``init_app``; Flask-free.

Revocation is a lookup in the shared storage (``OTC_AUTH_STORAGE_URI``) on every request, so
it is something an operator turns on, with the storage every worker shares (Redis for more
than one process). How long an entry is kept follows from the token rules already configured:
a revoked ``jti`` lives as long as its token may still be accepted (``exp`` plus the leeway),
a cut-off as long as a token issued before it may (the longest lifetime, plus the leeway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .config_keys import ConfigKey, boolean, choice, seconds

REFUSE: Final = "refuse"
ALLOW: Final = "allow"
DEFAULT_MAX_LIFETIME: Final = 86_400

REVOCATION_KEY: Final = ConfigKey(
    "OTC_AUTH_REVOCATION", False,
    "Check every verified credential against the revocation entries in the shared storage "
    "(OTC_AUTH_STORAGE_URI): revoked token jti values, cut-offs (tokens of a subject, client, "
    "tenant or issuer issued before a time) and disabled API key records and hmac clients. "
    "Written with auth.revoke_token/revoke_before/revoke_key or flask otcauth revoke ...; "
    "see the revocation page. With more than one worker the storage must be Redis.",
    type="bool", example=True, wrong="Not true or false.", bad_example="yes", parse=boolean)
REQUIRE_JTI_KEY: Final = ConfigKey(
    "OTC_AUTH_REVOCATION_REQUIRE_JTI", False,
    "While revocation is on, refuse a token (jwt, oauth) without a jti claim (401 "
    "invalid_token): such a token can only be cut off by time, never revoked alone.",
    type="bool", example=True, wrong="Not true or false.", bad_example=1, parse=boolean)
FALLBACK_KEY: Final = ConfigKey(
    "OTC_AUTH_REVOCATION_FALLBACK", REFUSE,
    'While the shared storage does not answer: "refuse" answers 503 temporarily_unavailable '
    'with Retry-After (a revoked credential is never let in); "allow" accepts the credential '
    "unchecked, as if nothing were revoked.",
    type='str: "refuse" or "allow"', example=ALLOW,
    wrong='Neither "refuse" nor "allow".', bad_example="open", parse=choice(REFUSE, ALLOW))
MAX_LIFETIME_KEY: Final = ConfigKey(
    "OTC_AUTH_REVOCATION_MAX_LIFETIME", DEFAULT_MAX_LIFETIME,
    "Seconds the longest-lived accepted token lives (at least OTC_AUTH_JWT_MAX_LIFETIME, which "
    "is used when larger): a token without iat counts as issued at its exp minus this, and a "
    "cut-off, or a jti revoked without its exp, is kept this long plus the leeway.",
    type="int (seconds, 60-31536000)", example=3600,
    wrong="Not a whole number of seconds from 60 to 31536000.", bad_example=0,
    parse=seconds(60, 31_536_000))
REVOCATION_KEYS: Final = (REVOCATION_KEY, REQUIRE_JTI_KEY, FALLBACK_KEY, MAX_LIFETIME_KEY)


@dataclass(frozen=True, slots=True)
class RevocationSettings:
    """What the revocation check needs, fixed at ``init_app``.

    ``max_lifetime`` and ``leeway`` are the largest of the token methods' (jwt's
    ``OTC_AUTH_JWT_MAX_LIFETIME`` and ``OTC_AUTH_JWT_LEEWAY``, each oauth issuer's) and this
    key's: the bounds on how long any token the server accepts can live.
    """

    require_jti: bool
    refuse_on_outage: bool
    max_lifetime: int
    leeway: int


def read_revocation(config: Mapping[str, Any], *, max_lifetime: int = 0, leeway: int = 0
                    ) -> RevocationSettings | None:
    """The revocation settings, or ``None`` while ``OTC_AUTH_REVOCATION`` is off (the keys
    are still checked, so a typo never waits for the day revocation is turned on)."""
    enabled = REVOCATION_KEY.read(config)
    require_jti = REQUIRE_JTI_KEY.read(config)
    fallback = FALLBACK_KEY.read(config)
    lifetime = MAX_LIFETIME_KEY.read(config)
    if not enabled:
        return None
    return RevocationSettings(require_jti=require_jti, refuse_on_outage=fallback == REFUSE,
                              max_lifetime=max(lifetime, max_lifetime), leeway=leeway)
