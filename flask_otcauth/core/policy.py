"""Access policies per credential: where, when and what a verified caller may reach; Flask-free.

A :class:`Policy` is read once, at ``init_app`` (or when a key loader's record is loaded), from
the ``policy`` of a key record or an hmac client, or from ``OTC_AUTH_CLIENT_POLICIES`` for a
token's client; every error names the record and the field. Deciding a request against it is
:mod:`.policy_check`'s work: the framework layer only hands over the facts (the client address
as the app sees it, the endpoint and URL rule, and on request the tool a call names).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import RateLimitItem

from .config_keys import ConfigKey, optional_string, rate_limit
from .refusals import OTCAuthConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
POLICY_FIELDS: Final = ("ip_allowlist", "ip_denylist", "allowed_hours", "timezone",
                        "allowed_weekdays", "allowed_endpoints", "blocked_endpoints", "ratelimit")
TOOL_PREFIX: Final = "tool:"
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday")
_HOURS: Final = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_DAY_MINUTES: Final = 24 * 60


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Views named three ways: Flask endpoint names, URL rules (``/tools/<name>``, as
    registered), and the tool ids a tool call names (``Math.Add``, or ``Math.*`` for a
    toolkit, ``*`` for every tool)."""

    names: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    tools: frozenset[str] = frozenset()
    tool_prefixes: tuple[str, ...] = ()

    @property
    def names_tools(self) -> bool:
        return bool(self.tools or self.tool_prefixes)

    def view(self, endpoint: str | None, rule: str | None) -> bool:
        """Whether the view itself (by endpoint name or URL rule) is listed."""
        return endpoint in self.names or rule in self.rules

    def tool(self, tool_id: str) -> bool:
        """Whether the tool ``tool_id`` is listed, exactly or by a prefix."""
        return tool_id in self.tools or tool_id.startswith(self.tool_prefixes)


@dataclass(frozen=True, slots=True)
class Policy:
    """What one credential may reach. ``None`` (or empty) fields impose nothing.

    ``hours`` are minute ranges ``[start, end)`` from local midnight in ``zone`` (an end
    before its start wraps past midnight); ``weekdays`` are ``date.weekday()`` numbers (0 is
    Monday). ``ratelimit`` replaces ``OTC_AUTH_RATELIMIT`` for this caller; ``ratelimit_text``
    is its spelling, the name its counters are cached under. ``where`` names the policy in
    the server's log (``OTC_AUTH_API_KEYS[0] (id "ci-bot").policy``), never in a response.
    """

    where: str
    ip_allowlist: tuple[Network, ...] | None = None
    ip_denylist: tuple[Network, ...] = ()
    hours: tuple[tuple[int, int], ...] | None = None
    zone: tzinfo = timezone.utc
    weekdays: frozenset[int] | None = None
    allowed_endpoints: Endpoints | None = None
    blocked_endpoints: Endpoints | None = None
    ratelimit: tuple[RateLimitItem, ...] | None = None
    ratelimit_text: str = ""

    @property
    def checks_address(self) -> bool:
        return self.ip_allowlist is not None or bool(self.ip_denylist)

    @property
    def checks_time(self) -> bool:
        return self.hours is not None or self.weekdays is not None

    @property
    def names_tools(self) -> bool:
        """Whether deciding needs the tool a call names (its body is read only then)."""
        return any(endpoints is not None and endpoints.names_tools
                   for endpoints in (self.allowed_endpoints, self.blocked_endpoints))


def parse_policy(data: object, where: str) -> Policy:
    """A validated :class:`Policy`, or :class:`OTCAuthConfigError` naming ``where`` and the
    field; ``where`` is how the configuration spells the policy's place."""
    if not isinstance(data, Mapping):
        raise OTCAuthConfigError(f"{where} must be a policy (a dict with fields "
                                 f"{', '.join(POLICY_FIELDS)}), got {type(data).__name__}.")
    for name in data:
        if name not in POLICY_FIELDS:
            raise OTCAuthConfigError(f"{where} has unknown field {name!r}. Fields: "
                                     + ", ".join(POLICY_FIELDS) + ".")
    allow = data.get("ip_allowlist")
    ratelimit = data.get("ratelimit")
    return Policy(
        where=where,
        ip_allowlist=None if allow is None else _networks(allow, f"{where}.ip_allowlist",
                                                          empty_ok=False),
        ip_denylist=_networks(data.get("ip_denylist", ()), f"{where}.ip_denylist"),
        hours=_hours(data.get("allowed_hours"), f"{where}.allowed_hours"),
        zone=_zone(data.get("timezone"), f"{where}.timezone"),
        weekdays=_weekdays(data.get("allowed_weekdays"), f"{where}.allowed_weekdays"),
        allowed_endpoints=_endpoints(data.get("allowed_endpoints"),
                                     f"{where}.allowed_endpoints", empty_ok=False),
        blocked_endpoints=_endpoints(data.get("blocked_endpoints"),
                                     f"{where}.blocked_endpoints"),
        ratelimit=(None if ratelimit is None
                   else rate_limit(ratelimit, f"{where}.ratelimit") or None),
        ratelimit_text=ratelimit if isinstance(ratelimit, str) else "",
    )


def _items(value: object, where: str, what: str) -> tuple[object, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise OTCAuthConfigError(f"{where} must be a list of {what}, got {type(value).__name__}.")


def _networks(value: object, where: str, *, empty_ok: bool = True) -> tuple[Network, ...]:
    """CIDR ranges (a lone address is its own /32 or /128); host bits set are a typo."""
    networks = []
    for index, entry in enumerate(_items(value, where, 'CIDR ranges such as "10.0.0.0/8"')):
        if not isinstance(entry, str):
            raise OTCAuthConfigError(f"{where}[{index}] must be a string such as \"10.0.0.0/8\" "
                                     "or \"2001:db8::/32\".")
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=True))
        except ValueError as error:
            hint = ""
            with contextlib.suppress(ValueError):
                hint = f" (did you mean {ipaddress.ip_network(entry.strip(), strict=False)}?)"
            raise OTCAuthConfigError(f"{where}[{index}] is {entry!r}, which is not a CIDR range "
                                     f"or address: {error}{hint}.") from None
    if not networks and not empty_ok:
        raise OTCAuthConfigError(f"{where} is empty: the credential could be used from no "
                                 "address at all. List ranges, or remove the field.")
    return tuple(networks)


def _minute(hour: str, minute: str, where: str, *, end: bool) -> int:
    hours, minutes = int(hour), int(minute)
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise OTCAuthConfigError(f"{where} has {hour}:{minute}, which is no time of day: hours "
                                 "00-23 (24:00 only as an end), minutes 00-59.")
    return hours * 60 + minutes


def _hours(value: object, where: str) -> tuple[tuple[int, int], ...] | None:
    """``"09:00-17:30"`` (or a list of such): from the first minute to the end, exclusive."""
    if value is None:
        return None
    ranges = []
    for index, entry in enumerate(_items(value, where, 'ranges such as "09:00-17:30"')):
        label = f"{where}[{index}]" if not isinstance(value, str) else where
        match = _HOURS.fullmatch(entry.replace(" ", "")) if isinstance(entry, str) else None
        if match is None:
            raise OTCAuthConfigError(f'{label} must be a range such as "09:00-17:30" (24-hour '
                                     f"clock, HH:MM-HH:MM), got {entry!r}.")
        start = _minute(match.group(1), match.group(2), label, end=False)
        stop = _minute(match.group(3), match.group(4), label, end=True)
        if start == stop:
            raise OTCAuthConfigError(f'{label} starts and ends at the same minute: write '
                                     '"00:00-24:00" for the whole day.')
        ranges.append((start, stop))
    if not ranges:
        raise OTCAuthConfigError(f"{where} is empty: the credential could never be used. List "
                                 "ranges, or remove the field.")
    return tuple(ranges)


def _zone(value: object, where: str) -> tzinfo:
    if value is None:
        return timezone.utc
    if not isinstance(value, str) or not value:
        raise OTCAuthConfigError(f'{where} must be an IANA time zone name such as '
                                 f'"Europe/Berlin", got {value!r}.')
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise OTCAuthConfigError(f'{where} is {value!r}, which is no IANA time zone known here: '
                                 'write a name such as "Europe/Berlin" or "UTC" (install the '
                                 "tzdata package where the system has no zone database).") from None


def _day(text: str, label: str) -> int:
    name = text.strip().lower()
    if name in WEEKDAYS:
        return WEEKDAYS.index(name)
    if name in _FULL_DAYS:
        return _FULL_DAYS.index(name)
    raise OTCAuthConfigError(f"{label} has {text!r}, which is no weekday: write mon, tue, wed, "
                             'thu, fri, sat, sun, or a range such as "mon-fri".')


def _weekdays(value: object, where: str) -> frozenset[int] | None:
    if value is None:
        return None
    days: set[int] = set()
    for index, entry in enumerate(_items(value, where, 'weekdays such as "mon" or "mon-fri"')):
        label = f"{where}[{index}]" if not isinstance(value, str) else where
        if not isinstance(entry, str):
            raise OTCAuthConfigError(f'{label} must be a weekday such as "mon", or a range such '
                                     f'as "mon-fri", got {type(entry).__name__}.')
        first, dash, last = entry.partition("-")
        start = _day(first, label)
        stop = _day(last, label) if dash else start
        day = start
        while True:  # mon-fri, or fri-mon across the week's end
            days.add(day)
            if day == stop:
                break
            day = (day + 1) % 7
    if not days:
        raise OTCAuthConfigError(f"{where} is empty: the credential could never be used. List "
                                 "days, or remove the field.")
    return frozenset(days)


def _endpoints(value: object, where: str, *, empty_ok: bool = True) -> Endpoints | None:
    if value is None:
        return None
    names: set[str] = set()
    rules: set[str] = set()
    tools: set[str] = set()
    prefixes: list[str] = []
    entries = _items(value, where, 'endpoint names, URL rules or "tool:<id>"')
    for index, entry in enumerate(entries):
        label = f"{where}[{index}]"
        if not isinstance(entry, str) or not entry.strip():
            raise OTCAuthConfigError(f'{label} must be an endpoint name ("list_tools"), a URL '
                                     'rule ("/tools/call") or a tool id ("tool:Math.Add").')
        text = entry.strip()
        if text.startswith(TOOL_PREFIX):
            tool = text[len(TOOL_PREFIX):]
            if not tool or "*" in tool.rstrip("*") or tool.count("*") > 1:
                raise OTCAuthConfigError(f'{label} is {text!r}: write "tool:" and a tool id, '
                                         'ending in "*" at most ("tool:Math.*").')
            if tool.endswith("*"):
                prefixes.append(tool[:-1])
            else:
                tools.add(tool)
        elif text.startswith("/"):
            rules.add(text)
        else:
            names.add(text)
    if not entries and not empty_ok:
        raise OTCAuthConfigError(f"{where} is empty: the credential could reach nothing. List "
                                 "endpoints, or remove the field.")
    return Endpoints(frozenset(names), frozenset(rules), frozenset(tools), tuple(prefixes))


def client_policies(value: Any, name: str) -> Mapping[str, Policy]:
    """``{client: policy}`` for tokens: the client is the identity's ``client`` (a JWT's
    matched ``aud``, an ``oauth`` token's client claim, an hmac client's id)."""
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f'{name} must be a mapping {{"client-id": {{policy}}}}, got '
                                 f"{type(value).__name__}.")
    policies = {}
    for client, data in value.items():
        if not isinstance(client, str) or not client:
            raise OTCAuthConfigError(f"{name} has a client that is not a non-empty string.")
        policies[client] = parse_policy(data, f'{name}["{client}"]')
    return policies


def policies_of(entries: Iterable[tuple[str, Policy | None]]) -> tuple[Policy, ...]:
    """The policies among ``entries``, for ``check`` and for deciding what to build."""
    return tuple(policy for _, policy in entries if policy is not None)


CLIENT_POLICIES_KEY: Final = ConfigKey(
    "OTC_AUTH_CLIENT_POLICIES", {},
    "Access policies of token clients, by the identity's client (a JWT's matched aud, an oauth "
    "token's client claim): {client: policy}, a policy being a dict of ip_allowlist, "
    "ip_denylist, allowed_hours, timezone, allowed_weekdays, allowed_endpoints, "
    "blocked_endpoints and ratelimit (see the policies page). A credential with a policy of "
    "its own (a key record's, an hmac client's) keeps it.",
    type="dict[str, dict]: client -> policy",
    example={"agent-platform": {"ip_allowlist": ["10.0.0.0/8", "2001:db8::/32"],
                                "allowed_hours": "06:00-22:00", "timezone": "Europe/Berlin",
                                "allowed_weekdays": ["mon-fri"],
                                "blocked_endpoints": ["tool:Admin.*"],
                                "ratelimit": "100/minute;1000/hour;10000/day"}},
    wrong="Not a mapping, or a policy with an unknown field, a malformed CIDR range (host bits "
          "set included), an hour range that is not HH:MM-HH:MM, an unknown weekday or time "
          "zone, an empty allowlist, or a rate limit that is not one: the error names the "
          "client and the field.",
    bad_example={"agent-platform": {"ip_allowlist": ["10.0.0.1/8"]}}, parse=client_policies)
ADDRESS_CLAIM_KEY: Final = ConfigKey(
    "OTC_AUTH_TOKEN_ADDRESS_CLAIM", None,
    "Bind bearer tokens to the caller's address: the name of a claim (such as client_ip) "
    "holding an address or a list of addresses and CIDR ranges, which the request's client "
    "address (request.remote_addr) must match; a token without it is refused. None: off. "
    "Mind NAT, mobile networks and proxies (see the policies page).",
    type="str | None (a claim name)", example="client_ip",
    wrong="Not a non-empty string or None.", bad_example=["client_ip"], parse=optional_string)
POLICY_KEYS: Final = (CLIENT_POLICIES_KEY, ADDRESS_CLAIM_KEY)
