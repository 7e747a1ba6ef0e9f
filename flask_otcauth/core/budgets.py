"""Call budgets against denial-of-wallet, on the shared storage; Flask-free.

A budgeted caller spends its call's cost in every budget that applies to it (its own, from its
key record or its token's budget claim, and its tenant's), in one atomic step of the shared
storage (:mod:`.counter_scripts`): across any number of workers, a budget of N admits exactly N
units. The counters are keyed on the verified identity (method, tenant, subject or client),
never on the credential string, so a re-minted token spends the same budget, and they live in
windows aligned to the epoch, so a refused caller learns exactly when to come back.

A cost reported after the call (:meth:`Budgets.settle`) is added whatever it overdraws: the
work is done, so nothing is refused then; the overdraft refuses the next call instead.

Every response to a budgeted caller says what is left, in the ``RateLimit`` and
``RateLimit-Policy`` fields of draft-ietf-httpapi-ratelimit-headers-09 (Structured Field lists:
``"budget";q=100;w=86400`` and ``"budget";r=58;t=3600``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Final

from .budget_config import MAX_AMOUNT, BudgetSettings
from .identity import Identity
from .refusals import BUDGET_EXHAUSTED, INVALID_TOKEN, TEMPORARILY_UNAVAILABLE, AuthFailure
from .storage import Storage, StorageUnavailable, key_part

logger = logging.getLogger("flask_otcauth")
OWN: Final = "budget"
TENANT: Final = "tenant"
_MAX_CACHED: Final = 10_000  # callers' counters remembered
SETTLE_SECONDS: Final = 300
"""Seconds a window's counters outlive it, for a cost reported after a call that began in it."""


@dataclass(frozen=True, slots=True)
class Pocket:
    """One budget a caller spends: its name in the RateLimit fields, its counter's key
    (without the window), and its size."""

    name: str
    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Counters:
    """The counters one caller spends in one window, built once per caller and window: its
    budgets, their storage keys and limits, and the ``RateLimit-Policy`` value, which only
    changes with them."""

    pockets: tuple[Pocket, ...]
    keys: list[str]
    limits: list[int]
    window: int
    resets_at: int
    policy: str


@dataclass(frozen=True, slots=True)
class Charge:
    """What one request spent: its counters, the units charged, and each budget's units used
    after it."""

    counters: Counters
    charged: int
    used: tuple[int, ...]

    @property
    def pockets(self) -> tuple[Pocket, ...]:
        return self.counters.pockets

    @property
    def window(self) -> int:
        return self.counters.window

    @property
    def resets_at(self) -> int:
        return self.counters.resets_at

    def remaining(self) -> tuple[int, ...]:
        return tuple(max(0, limit - used)
                     for limit, used in zip(self.counters.limits, self.used, strict=True))

    def headers(self, now: float) -> tuple[tuple[str, str], ...]:
        """``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers-09):
        each budget as a list member, its quota ``q`` and window ``w``, what remains ``r`` and
        the seconds until the window resets ``t``."""
        reset = max(0, math.ceil(self.counters.resets_at - now))
        current = ", ".join(f'"{pocket.name}";r={left};t={reset}'
                            for pocket, left in zip(self.counters.pockets, self.remaining(),
                                                    strict=True))
        return (("RateLimit-Policy", self.counters.policy), ("RateLimit", current))


class Budgets:
    """One app's budgets over its shared storage (``OTC_AUTH_STORAGE_URI``)."""

    def __init__(self, storage: Storage, settings: BudgetSettings) -> None:
        self._storage = storage
        self.settings = settings
        self.everyone = settings.everyone
        self._counters: dict[tuple[object, ...], Counters] = {}

    def applies(self, identity: Identity) -> bool:
        """Whether ``identity`` may have a budget (read its claims and tenant to know)."""
        return identity.budget is not None or self.everyone

    def pockets(self, identity: Identity) -> tuple[Pocket, ...]:
        """The budgets ``identity`` spends: its own, then its tenant's; ``()`` for none."""
        settings = self.settings
        tenant = identity.tenant
        own = identity.budget if identity.budget is not None else self._claimed(identity)
        found: list[Pocket] = []
        if tenant is not None:
            tag = "{budget:t:" + key_part(tenant) + "}"
        else:
            tag = "{budget:c:" + key_part(identity.method) + ":" + self._name(identity) + "}"
        if own is not None:
            found.append(Pocket(OWN, f"{tag}:own:{key_part(identity.method)}:"
                                     f"{self._name(identity)}", own))
        shared = settings.tenant_budget(tenant)
        if shared is not None:
            found.append(Pocket(TENANT, f"{tag}:tenant", shared))
        return tuple(found)

    def charge(self, identity: Identity, cost: int, now: float) -> Charge | None:
        """Spend ``cost`` in each of ``identity``'s budgets, or raise 429 ``budget_exhausted``
        (503 while the storage does not answer, unless ``OTC_AUTH_BUDGET_FALLBACK`` allows).
        ``None`` when no budget applies, or an outage lets the call in uncounted."""
        counters = self.counters(identity, now)
        if counters is None:
            return None
        ttl = math.ceil(counters.resets_at - now) + SETTLE_SECONDS
        try:
            refused, used = self._storage.spend(counters.keys, counters.limits, cost, ttl)
        except StorageUnavailable:
            if self.settings.refuse_on_outage:
                raise TEMPORARILY_UNAVAILABLE.failure(
                    "The budget store did not answer, and this server refuses calls it cannot "
                    'count (OTC_AUTH_BUDGET_FALLBACK = "refuse").') from None
            return None
        charge = Charge(counters, 0 if refused else cost, tuple(used))
        if refused:
            raise self._exhausted(charge, counters.pockets[refused - 1], cost, now)
        return charge

    def counters(self, identity: Identity, now: float) -> Counters | None:
        """``identity``'s counters of the window ``now`` falls in, ``None`` without a budget;
        remembered per caller and window (a bounded cache: a flood of names starts it over)."""
        window = self.settings.window
        start = int(now // window) * window
        own = identity.budget if identity.budget is not None else self._claimed(identity)
        cached = (identity.method, identity.tenant, identity.subject, identity.client, own,
                  start)
        counters = self._counters.get(cached)
        if counters is None:
            pockets = self.pockets(identity)
            if not pockets:
                return None
            counters = Counters(pockets, [f"{pocket.key}:{start}" for pocket in pockets],
                                [pocket.limit for pocket in pockets], window, start + window,
                                ", ".join(f'"{pocket.name}";q={pocket.limit};w={window}'
                                          for pocket in pockets))
            if len(self._counters) >= _MAX_CACHED:
                self._counters.clear()
            self._counters[cached] = counters
        return counters

    def settle(self, charge: Charge, cost: int) -> Charge:
        """The measured ``cost`` in place of what was charged, the difference added whatever
        it overdraws (never refused: the work is done). A storage that does not answer loses
        the difference, and says so in the log."""
        delta = cost - charge.charged
        if delta == 0:
            return charge
        counters = charge.counters
        try:
            _, used = self._storage.spend(counters.keys, counters.limits, delta,
                                          counters.window + SETTLE_SECONDS, check=False)
        except StorageUnavailable:
            logger.warning("budget store did not answer: a reported cost of %d units was not "
                           "counted", delta)
            return charge
        return Charge(counters, cost, tuple(used))

    def _exhausted(self, charge: Charge, pocket: Pocket, cost: int, now: float) -> AuthFailure:
        left = charge.remaining()[charge.pockets.index(pocket)]
        whose = "credential's" if pocket.name == OWN else "tenant's"
        failure = BUDGET_EXHAUSTED.failure(
            f"This call costs {cost}; the {whose} budget has {left} of {pocket.limit} left in "
            "this window. Retry-After says when the window resets.",
            retry_after=max(1, math.ceil(charge.resets_at - now)))
        failure.headers = charge.headers(now)
        return failure

    def _claimed(self, identity: Identity) -> int | None:
        """A token's own budget from ``OTC_AUTH_BUDGET_CLAIM``; a claim that is there but no
        whole number refuses the token (it cannot be let in unbounded)."""
        claim = self.settings.claim
        if claim is None or claim not in identity.claims:
            return None
        value = identity.claims[claim]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
            raise INVALID_TOKEN.failure(
                f"The token's {claim} claim must be a whole number of budget units.",
                method=identity.method, verified=True, caller=identity.rate_limit_key)
        return value

    @staticmethod
    def _name(identity: Identity) -> str:
        """Who spends: the subject, else the client; a token naming neither spends one
        bucket shared by every such token of its method and tenant."""
        name = identity.subject if identity.subject is not None else identity.client
        return "-" if name is None else key_part(name)
