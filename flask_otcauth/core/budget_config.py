"""The settings of call budgets and tenant isolation, read once at ``init_app``; Flask-free.

A budget is what a caller may spend in a window (a day by default) against denial-of-wallet:
each call costs its tool's cost (1 unless ``OTC_AUTH_TOOL_COSTS`` says otherwise, or the view
reports a measured cost). It comes from the credential (a key record's ``budget``, a token's
``OTC_AUTH_BUDGET_CLAIM``) and from its tenant (``OTC_AUTH_TENANT_BUDGETS``); both are spent
when both are set. Tenant isolation needs to know which operator credentials may cross
tenants; the tenant of a credential is its identity's, set where it was verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from .config_keys import ConfigKey, choice, optional_string, seconds, strings
from .refusals import OTCAuthConfigError

REFUSE: Final = "refuse"
ALLOW: Final = "allow"
DAY: Final = 86_400
ANY_TENANT: Final = "*"
MAX_AMOUNT: Final = 2**53  # a budget or cost a JSON number (and a Lua double) holds exactly
_CALLER: Final = re.compile(r"[a-z][a-z0-9_]*:\S+")


def amount(value: Any, where: str, *, minimum: int = 1) -> int:
    """A whole number of budget units in ``minimum``..2**53, or the error naming ``where``."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or value > MAX_AMOUNT):
        raise OTCAuthConfigError(f"{where} must be a whole number from {minimum} to 2**53, "
                                 f"got {value!r}.")
    return value


def _amounts(minimum: int) -> Any:
    def parse(value: Any, name: str) -> Mapping[str, int]:
        if not isinstance(value, Mapping):
            raise OTCAuthConfigError(f"{name} must be a dict of name -> whole number, got "
                                     f"{type(value).__name__}.")
        parsed: dict[str, int] = {}
        for key, units in value.items():
            if not isinstance(key, str) or not key:
                raise OTCAuthConfigError(f"{name} has a key that is not a non-empty string.")
            parsed[key] = amount(units, f"{name}[{key!r}]", minimum=minimum)
        return MappingProxyType(parsed)

    return parse


def _callers(value: Any, name: str) -> frozenset[str]:
    listed = strings(value, name)
    for index, caller in enumerate(listed):
        if _CALLER.fullmatch(caller) is None:
            raise OTCAuthConfigError(f'{name}[{index}] must be "<method>:<id>" (such as '
                                     f'"api_key:ops-console" or "jwt:admin"), got {caller!r}.')
    return frozenset(listed)


BUDGET_CLAIM_KEY: Final = ConfigKey(
    "OTC_AUTH_BUDGET_CLAIM", None,
    "The token claim (jwt, oauth) holding the token's own budget per window, a whole number "
    "(the guide's example: token_budget); a token without it has none of its own. None: "
    "tokens carry no budget. A key record carries its own as its budget field.",
    type="str | None (a claim name)", example="token_budget",
    wrong="Not a non-empty string or None.", bad_example=["token_budget"],
    parse=optional_string)
TENANT_BUDGETS_KEY: Final = ConfigKey(
    "OTC_AUTH_TENANT_BUDGETS", {},
    "Budgets per tenant and window, shared by every credential of the tenant: {tenant: units}; "
    '"*" gives each tenant not listed a budget of its own of that size. Spent beside a '
    "credential's own budget: a call needs room in both.",
    type="dict[str, int]: tenant -> units", example={"acme": 10_000, "*": 1_000},
    wrong="Not a dict, a key that is not a non-empty string, or a value that is not a whole "
          "number from 1 to 2**53.", bad_example={"acme": "lots"}, parse=_amounts(1))
BUDGET_WINDOW_KEY: Final = ConfigKey(
    "OTC_AUTH_BUDGET_WINDOW", DAY,
    "Seconds of a budget window. Windows are aligned to the Unix epoch (a day runs from 00:00 "
    "UTC), so every worker agrees when one ends; an exhausted budget gets 429 with "
    "Retry-After until then.",
    type="int (seconds, 60-31536000)", example=3600,
    wrong="Not a whole number of seconds from 60 to 31536000.", bad_example="1d",
    parse=seconds(60, 31_536_000))
TOOL_COSTS_KEY: Final = ConfigKey(
    "OTC_AUTH_TOOL_COSTS", {},
    "What a tool call costs (POST /tools/call, by the tool the body names): {tool: units}, a "
    'tool named with its version (Math.Add@1.0.0), without (Math.Add), or by a prefix ending '
    'in * (Math.*, or * for every tool); the most exact wins. Any other call costs 1, unless '
    "the view says require_auth(cost=...); a view may report the measured cost with "
    "report_cost(units).",
    type="dict[str, int]: tool -> units (0 allowed)", example={"LLM.Complete": 50, "Math.*": 1},
    wrong="Not a dict, or a value that is not a whole number from 0 to 2**53.",
    bad_example={"LLM.Complete": -1}, parse=_amounts(0))
BUDGET_FALLBACK_KEY: Final = ConfigKey(
    "OTC_AUTH_BUDGET_FALLBACK", REFUSE,
    'While the shared storage does not answer: "refuse" answers 503 temporarily_unavailable '
    'with Retry-After to every budgeted caller (a budget is never overspent); "allow" lets '
    "the calls in uncounted.",
    type='str: "refuse" or "allow"', example=ALLOW, wrong='Neither "refuse" nor "allow".',
    bad_example="open", parse=choice(REFUSE, ALLOW))
CROSS_TENANT_KEY: Final = ConfigKey(
    "OTC_AUTH_CROSS_TENANT_CALLERS", [],
    'Operator credentials that may reach every tenant\'s tenant-scoped views, as "<method>:'
    '<id>" (the identity\'s subject, else its client). Every such crossing is audited '
    "(the cross_tenant_access signal and a WARNING log line). Any other credential without "
    "a tenant is refused there (403 tenant_required).",
    type='list[str]: "<method>:<id>"', example=["api_key:ops-console"],
    wrong='An entry that is not "<method>:<id>".', bad_example=["ops-console"],
    parse=_callers)
BUDGET_KEYS: Final = (BUDGET_CLAIM_KEY, TENANT_BUDGETS_KEY, BUDGET_WINDOW_KEY, TOOL_COSTS_KEY,
                      BUDGET_FALLBACK_KEY, CROSS_TENANT_KEY)


@dataclass(frozen=True, slots=True)
class BudgetSettings:
    """Budgets and tenants as ``init_app`` found them; ``everyone`` says whether a caller
    without a budget of its own may still have one (a claim to read, a tenant's budget)."""

    claim: str | None = None
    tenant_budgets: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    window: int = DAY
    tool_costs: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    refuse_on_outage: bool = True
    cross_tenant: frozenset[str] = frozenset()

    @property
    def everyone(self) -> bool:
        return self.claim is not None or bool(self.tenant_budgets)

    def tenant_budget(self, tenant: str | None) -> int | None:
        if tenant is None or not self.tenant_budgets:
            return None
        own = self.tenant_budgets.get(tenant)
        return own if own is not None else self.tenant_budgets.get(ANY_TENANT)

    def tool_cost(self, tool: str | None) -> int | None:
        """The configured cost of ``tool``: by its id, its name without the version, then the
        longest matching prefix pattern; ``None`` when nothing names it."""
        costs = self.tool_costs
        if tool is None or not costs:
            return None
        for name in (tool, tool.partition("@")[0]):
            if name in costs:
                return costs[name]
        best: tuple[int, int] | None = None
        for pattern, units in costs.items():
            if (pattern.endswith("*") and tool.startswith(pattern[:-1])
                    and (best is None or len(pattern) > best[0])):
                best = (len(pattern), units)
        return None if best is None else best[1]


def read_budgets(config: Mapping[str, Any]) -> BudgetSettings:
    """Every key read and checked, whatever is in use: a typo never waits for its day."""
    return BudgetSettings(
        claim=BUDGET_CLAIM_KEY.read(config), tenant_budgets=TENANT_BUDGETS_KEY.read(config),
        window=BUDGET_WINDOW_KEY.read(config), tool_costs=TOOL_COSTS_KEY.read(config),
        refuse_on_outage=BUDGET_FALLBACK_KEY.read(config) == REFUSE,
        cross_tenant=CROSS_TENANT_KEY.read(config))
