"""The decisions a request goes through, in order, for one app; Flask-free.

extract credentials -> verify -> identity -> authorize -> rate-limit. :class:`Gate` makes each
decision and raises the refusal; a framework layer (the Flask guard, or an ASGI or MCP adapter)
only builds the :class:`~.methods.base.AuthRequest`, remembers the identity for the rest of the
request, and turns a refusal into a response. What counts as a failed attempt, when an address
is locked out and when a caller's budget is spent is decided here, and nowhere else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from .authenticator import Authenticator
from .budgets import Budgets
from .identity import NO_AUTH_IDENTITY, Identity
from .methods.base import AuthRequest, Scheme, Setup
from .policy import Policy
from .policy_check import check_address_claim, check_policy
from .ratelimit import REVOCATION_UNCHECKED, Budget, RateLimits
from .refusals import HTTPS_REQUIRED, MISSING_CREDENTIALS, AuthFailure, OTCAuthConfigError
from .revocation import Lookup, Revocations
from .scopes import scope_failure
from .settings import Settings
from .step_up import StepUp, step_up_failure
from .storage import RedisStorage
from .tenants import TenantSource
from .tool_requirements import NO_NEEDS, ToolNeeds, ToolRequirements, call_scope_failure

UNKNOWN_ADDRESS: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a view asks of its caller: which methods it accepts, whether anonymity is fine,
    which scopes the caller must hold (all of ``scopes``, one of ``any_scopes``), and the user
    authentication it needs (``step_up``, RFC 9470; ``None``: any).

    ``methods`` is ``None`` for "every method the app enabled". ``tenant_from`` says where a
    tenant-scoped view's request names its tenant; ``cost`` what a call of the view costs a
    budgeted caller (``None``: its tool's cost, else 1).
    """

    methods: tuple[str, ...] | None = None
    optional: bool = False
    scopes: tuple[str, ...] = ()
    any_scopes: tuple[str, ...] = ()
    tenant_from: TenantSource | None = None
    cost: int | None = None
    step_up: StepUp | None = None


def build_schemes(settings: Settings, setup: Setup | None = None) -> dict[str, Scheme]:
    """The enabled methods' schemes by name, in the order of ``OTC_AUTH_METHODS``.

    A ``setup`` without ``scopeless_grants`` gets the settings' ``OTC_AUTH_SCOPELESS_GRANTS``.
    """
    setup = setup if setup is not None else Setup()
    if setup.scopeless_grants is None:
        setup = replace(setup, scopeless_grants=settings.scopeless_grants)
    return {method.name: method.build(own, setup) for method, own in settings.enabled}


class Gate:
    """One app's request path: its schemes, its limits, and the order they are asked in."""

    def __init__(self, settings: Settings, setup: Setup, rate_limits: RateLimits | None,
                 policy_limits: Callable[[], RateLimits | None] | None = None) -> None:
        self.authenticator = Authenticator(build_schemes(settings, setup))
        self.rate_limits = rate_limits
        # Where a policy's own ratelimit is counted while the app counts nothing else: built
        # by the first such caller, so an app without one opens no storage for it.
        self._policy_limits = rate_limits
        self._build_policy_limits = policy_limits if rate_limits is None else None
        self._lock = threading.Lock()
        self.methods = settings.methods
        self.auth_disabled = settings.auth_disabled
        self.require_https = settings.require_https
        self.client_policies: Mapping[str, Policy] = settings.client_policies
        self.address_claim = settings.token_address_claim
        # Whether any caller may carry a policy without one on its identity: the one flag the
        # request path reads for callers without a policy of their own.
        self.policies = bool(self.client_policies) or self.address_claim is not None
        # Whether accepted requests' responses may carry a scheme's headers (a DPoP-Nonce).
        self.adds_headers = self.authenticator.adds_headers
        # OTC_AUTH_REVOCATION: every verified credential is looked up in the shared storage.
        self.revocations = (Revocations(setup.storage, settings.revocation)
                            if settings.revocation is not None else None)
        # Where the rate limits' admit script runs on the Redis database holding the entries,
        # it reads them too: the revocation check costs no round trip of its own.
        storage = setup.storage
        self._revocation_namespace = (
            storage.namespace if self.revocations is not None and rate_limits is not None
            and isinstance(storage, RedisStorage) and rate_limits.shares_database(storage.client)
            else None)
        self.folds_revocation = self._revocation_namespace is not None
        # What each tool a call names needs (OTC_AUTH_TOOL_SCOPES, auth.tool): None for none.
        self.tool_requirements: ToolRequirements | None = settings.tool_requirements or None
        # Call budgets and tenant isolation (budget_config): asked after admit, by the
        # framework layer, for a budgeted caller or a tenant-scoped view only.
        self.budgets = Budgets(setup.storage, settings.budgets)

    def methods_for(self, requirement: Requirement) -> tuple[str, ...]:
        """The methods a view accepts: the app's, narrowed by the view, in the app's order."""
        enabled = self.methods
        if requirement.methods is None or self.auth_disabled:
            return enabled  # ["none"] opens every view, whatever it names: the local-work switch
        unknown = [m for m in requirement.methods if m not in enabled]
        if unknown:
            raise OTCAuthConfigError(
                f"require_auth(methods={list(requirement.methods)}) names {unknown}, which "
                f"OTC_AUTH_METHODS ({list(enabled)}) does not enable.")
        return tuple(m for m in enabled if m in requirement.methods)

    def verify(
        self, request: AuthRequest, methods: tuple[str, ...], *, optional: bool, now: float,
        revocation_in_admit: bool = False,
    ) -> Identity | None:
        """The caller, or the refusal; a refusal that counts is charged to its address.

        ``revocation_in_admit``: the caller calls :meth:`admit` next with the same flag, which
        checks the revocation entries (in the admit script's round trip, where
        :attr:`folds_revocation`); otherwise they are checked here.
        """
        if self.auth_disabled:
            return NO_AUTH_IDENTITY
        if (self.require_https and not request.secure
                and self.authenticator.presents_credentials(request, methods)):
            # Already exposed on the network: answering whether it is valid would make the
            # server an oracle for whoever listens.
            raise HTTPS_REQUIRED.failure()
        try:
            identity = self.authenticator.authenticate(request, methods, optional=optional,
                                                       now=now)
            if (identity is not None and self.revocations is not None
                    and not (revocation_in_admit and self.folds_revocation)):
                self.revocations.check(identity)
            return identity
        except AuthFailure as failure:
            self._count_failure(failure, request.client_address or UNKNOWN_ADDRESS)
            raise

    def _count_failure(self, failure: AuthFailure, address: str) -> None:
        """What a refusal of the credential itself costs its address, or its holder."""
        limits = self.rate_limits
        if limits is not None:
            if failure.verified:
                self._charge(limits, address, failure.caller)
            elif failure.counts_as_failure:
                limits.record_failure(address)  # 429 if locked out already
            else:
                # A failing key or nonce store is the server's trouble, not an attempt to
                # count; a locked-out address still learns nothing but 429.
                limits.refuse_if_failing(address)

    def admit(self, identity: Identity | None, requirement: Requirement,
              request: AuthRequest, now: float | None = None, *,
              revocation_in_admit: bool = False) -> None:
        """Apply the caller's policy, authorize, then spend one request of the caller's
        budget (its policy's, when it sets one), or refuse.

        ``revocation_in_admit`` (as :meth:`verify` was told): the caller's revocation entries
        are read by the admit script with the count, or, before a refusal for any other
        reason, on their own, so that a revoked credential is always refused as revoked.
        """
        lookup = (self._lookup(identity, request)
                  if revocation_in_admit and self.folds_revocation else None)
        budget = None
        if identity is not None and not self.auth_disabled:
            policy = identity.policy
            if self.policies:
                if self.address_claim is not None:
                    self._bound(identity, request, lookup)
                if policy is None:
                    policy = self.client_policies.get(identity.client or "")
            if policy is not None:
                budget = self._apply(policy, identity, request,
                                     time.time() if now is None else now, lookup)
        needs = (self._tool_needs(identity, request, budget, lookup)
                 if self.tool_requirements is not None and not self.auth_disabled else NO_NEEDS)
        if requirement.scopes or requirement.any_scopes or needs.scopes:
            self.authorize(identity, requirement, request.client_address or UNKNOWN_ADDRESS,
                           budget, lookup, tool_scopes=needs.scopes)
        if ((requirement.step_up is not None or needs.step_up is not None)
                and identity is not None and not self.auth_disabled):
            self._step_up(identity, (requirement.step_up, needs.step_up), request, budget,
                          lookup, now=time.time() if now is None else now)
        self._spend(identity, request, budget, lookup)

    def _tool_needs(self, identity: Identity | None, request: AuthRequest,
                    budget: Budget | None, lookup: Lookup | None) -> ToolNeeds:
        """What the tool a call names needs (:meth:`ToolRequirements.needs_of_call`); its
        refusal is charged to the caller like a missing scope."""
        try:
            needs = (self.tool_requirements.needs_of_call(request)
                     if self.tool_requirements is not None else NO_NEEDS)
        except AuthFailure as failure:
            if identity is not None:
                self._count_refusal(failure, identity, request, budget, lookup)
            raise
        if identity is None and needs != NO_NEEDS:
            raise MISSING_CREDENTIALS.failure(
                "This tool needs what only a credential can prove: send one.")
        return needs

    def _step_up(self, identity: Identity, requirements: tuple[StepUp | None, ...],
                 request: AuthRequest, budget: Budget | None, lookup: Lookup | None, *,
                 now: float) -> None:
        """RFC 9470: the view's user-authentication requirement, then the tool's; a refusal is
        the verified holder's, charged to its budget like a missing scope."""
        for needed in requirements:
            failure = step_up_failure(identity, needed, now) if needed is not None else None
            if failure is not None:
                self._count_refusal(failure, identity, request, budget, lookup)
                raise failure

    def _lookup(self, identity: Identity | None, request: AuthRequest) -> Lookup | None:
        """The caller's revocation entries for the admit script to read, or the refusal of a
        token the revocation settings refuse unread (no ``jti``)."""
        if identity is None or self.revocations is None or self.auth_disabled:
            return None
        try:
            return self.revocations.lookup(identity)
        except AuthFailure as failure:
            self._count_failure(failure, request.client_address or UNKNOWN_ADDRESS)
            raise

    def _spend(self, identity: Identity | None, request: AuthRequest, budget: Budget | None,
               lookup: Lookup | None) -> None:
        """Spend one request of the caller's budget; with ``lookup``, in the one script call
        that reads the caller's revocation entries first (nothing is spent when one matches).
        """
        limits = self.rate_limits if budget is None else self.policy_limits
        address = request.client_address or UNKNOWN_ADDRESS
        if limits is None:
            if lookup is not None and identity is not None:
                self._revoked_first(identity, address)
            return
        key = identity.rate_limit_key if identity is not None else None
        caller = key if key is not None else f"address:{address}"
        if self.auth_disabled:
            limits.count_request(caller)  # no credentials, so no failures to check
            return
        if lookup is None or identity is None or self.revocations is None:
            limits.admit(address, caller, budget)  # the lock-out check and the count, together
            return
        namespace = str(self._revocation_namespace)
        matched = limits.admit(address, caller, budget,
                               (tuple(namespace + key for key in lookup.keys),
                                lookup.thresholds))
        if matched is None:
            return
        if matched == REVOCATION_UNCHECKED:  # the script did not run: ask the storage
            self._revoked_first(identity, address)
            return
        failure = self.revocations.refusal(identity, lookup, *matched)
        self._count_failure(failure, address)
        raise failure

    def _revoked_first(self, identity: Identity, address: str) -> None:
        """The revocation check on its own (one ``MGET``), for a request the admit script
        does not answer: refused for another reason, or while the script's storage fails."""
        if self.revocations is not None:
            try:
                self.revocations.check(identity)
            except AuthFailure as failure:
                self._count_failure(failure, address)
                raise

    @property
    def policy_limits(self) -> RateLimits | None:
        """The limits a policy's own ``ratelimit`` is counted with: the app's, else built once."""
        if self._build_policy_limits is not None:
            with self._lock:
                build = self._build_policy_limits
                if build is not None:
                    self._policy_limits = build()
                    self._build_policy_limits = None
        return self._policy_limits

    def _apply(self, policy: Policy, identity: Identity, request: AuthRequest, now: float,
               lookup: Lookup | None = None) -> Budget | None:
        """The policy's refusal, counted as its rule says; else its own budget, if any."""
        limits = self.policy_limits if policy.ratelimit is not None else None
        budget = (limits.budget(policy.ratelimit, policy.ratelimit_text)
                  if limits is not None and policy.ratelimit is not None else None)
        try:
            check_policy(policy, request, now)
        except AuthFailure as failure:
            self._count_refusal(failure, identity, request, budget, lookup)
            raise
        return budget

    def _bound(self, identity: Identity, request: AuthRequest, lookup: Lookup | None) -> None:
        """A token bound to addresses by ``OTC_AUTH_TOKEN_ADDRESS_CLAIM``, or its refusal."""
        try:
            check_address_claim(str(self.address_claim), identity.claims, request)
        except AuthFailure as failure:
            self._count_refusal(failure, identity, request, None, lookup)
            raise

    def _count_refusal(self, failure: AuthFailure, identity: Identity, request: AuthRequest,
                       budget: Budget | None, lookup: Lookup | None) -> None:
        """A refusal from a denied address counts as a failed attempt (a stolen credential
        tried from elsewhere is a guess like any other); one by time or endpoint is its
        holder's, charged to its own budget like a missing scope. A revoked credential is
        refused as revoked first (``lookup``: its entries, not read yet)."""
        address = request.client_address or UNKNOWN_ADDRESS
        if lookup is not None:
            self._revoked_first(identity, address)
        if failure.counts_as_failure:
            if self.rate_limits is not None:
                self.rate_limits.record_failure(address)  # 429 if locked out already
            return
        limits = self.rate_limits if budget is None else self.policy_limits
        if limits is not None:
            self._charge(limits, address, identity.rate_limit_key, budget)

    def authorize(self, identity: Identity | None, requirement: Requirement,
                  address: str | None = None, budget: Budget | None = None,
                  lookup: Lookup | None = None, *, tool_scopes: tuple[str, ...] = ()) -> None:
        """The 403 unless ``identity`` holds the scopes ``requirement`` asks for, and those of
        the tool the call names (``tool_scopes``: then the 403 names them all together).

        With ``address`` (the first check of a request), a 403 is only answered to an address
        that is not locked out by failures (to a locked-out one it would tell that the
        credential was valid), and it spends one request of the caller's budget; a later check
        of the same request (``check_scopes`` in the view) was paid for by the first.
        """
        if identity is None or self.auth_disabled:
            return  # anonymous callers only reach views without scopes (require_auth ensures it)
        if tool_scopes:  # one 403 naming the view's scopes and the tool's together
            needed = (tuple(dict.fromkeys((*requirement.scopes, *tool_scopes)))
                      if requirement.scopes else tool_scopes)
            failure = call_scope_failure(identity.scopes, needed, requirement.any_scopes)
        else:
            failure = scope_failure(identity.scopes, requirement.scopes, requirement.any_scopes)
        if failure is not None:
            if lookup is not None:  # entries not read yet: a revoked credential is 401
                self._revoked_first(identity, address or UNKNOWN_ADDRESS)
            limits = self.rate_limits if budget is None else self.policy_limits
            if address is not None and limits is not None:
                self._charge(limits, address, identity.rate_limit_key, budget)
            raise failure

    @staticmethod
    def _charge(limits: RateLimits, address: str, caller: str | None,
                budget: Budget | None = None) -> None:
        """A verified credential refused all the same (expired, not yet valid, a foreign aud,
        a missing scope): its holder has the secret, so this is no guess to count against the
        address, which a platform with a wrong clock would otherwise lock out with refusals it
        is told the reason of. It is a request of the caller's own budget instead, so the
        refusals cannot flood either. A locked-out address still learns nothing but 429: an
        answer that a credential verified would confirm a guessed secret.
        """
        limits.refuse_if_failing(address)
        limits.count_request(caller if caller is not None else f"address:{address}", budget)
