"""A request decided against its caller's :class:`~.policy.Policy`, and a token's address
binding; Flask-free.

The facts come from the framework layer through the :class:`~.methods.base.AuthRequest`: the
client address as the app sees it (``REMOTE_ADDR``, which ``ProxyFix`` rewrites when the app
applies it: a forwarded header the app does not trust is never read here), the endpoint and URL
rule (``route()``), and the tool a call names (``tool()``, which reads the body: asked only
when a policy lists tools and the request is ``POST .../tools/call``). Rules are checked in a
fixed order, address first, so a refusal by address is what a caller from a denied network
sees, whatever else it got wrong.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .methods.base import AuthRequest
from .policy import Network, Policy
from .refusals import (
    ENDPOINT_NOT_ALLOWED,
    IP_NOT_ALLOWED,
    OUTSIDE_ALLOWED_HOURS,
    AuthFailure,
)

TOOL_CALL_SUFFIX: Final = "/tools/call"
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4096)
def client_address(text: str | None) -> tuple[_Address, ...]:
    """The address, and for an IPv4-mapped IPv6 address (``::ffff:10.0.0.1``, what a
    dual-stack socket reports for an IPv4 client) its IPv4 form too, so IPv4 ranges match it;
    ``()`` for no address or one that is none (a Unix socket's)."""
    if not text:
        return ()
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return ()
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(text.strip().partition("%")[0])
        mapped = address.ipv4_mapped
        if mapped is not None:
            return (address, mapped)
    return (address,)


def within(addresses: tuple[_Address, ...], networks: tuple[Network, ...]) -> bool:
    return any(address in network for address in addresses for network in networks)


def check_policy(policy: Policy, request: AuthRequest, now: float) -> None:
    """Raise the refusal of the first rule ``request`` breaks at ``now``, else return."""
    if policy.checks_address:
        addresses = client_address(request.client_address)
        allow = policy.ip_allowlist
        if (not addresses or (allow is not None and not within(addresses, allow))
                or within(addresses, policy.ip_denylist)):
            raise IP_NOT_ALLOWED.failure(
                "This credential's policy does not allow requests from this client address "
                "(as this server sees it: behind a proxy, the proxy must be trusted through "
                "ProxyFix for the client's own address to count).")
    if policy.checks_time:
        local = datetime.fromtimestamp(now, policy.zone)
        weekdays = policy.weekdays
        if weekdays is not None and local.weekday() not in weekdays:
            raise _outside(policy)
        hours = policy.hours
        if hours is not None:
            minute = local.hour * 60 + local.minute
            if not any(start <= minute < stop if start < stop else
                       (minute >= start or minute < stop) for start, stop in hours):
                raise _outside(policy)
    allowed, blocked = policy.allowed_endpoints, policy.blocked_endpoints
    if allowed is not None or blocked is not None:
        endpoint, rule = request.route()
        tool: str | None = None
        is_call = (request.method == "POST" and rule is not None
                   and rule.endswith(TOOL_CALL_SUFFIX))
        if is_call and policy.names_tools:
            tool = request.tool()
            if tool is None:
                raise ENDPOINT_NOT_ALLOWED.failure(
                    "This credential's policy limits which tools it may call, and the call "
                    "names none this server could read: send a JSON body (Content-Type: "
                    "application/json, with Content-Length, within the server's "
                    'MAX_CONTENT_LENGTH) naming the tool in request.tool_id.')
        if allowed is not None and not (allowed.view(endpoint, rule) or (
                tool is not None and allowed.tool(tool))):
            raise _not_allowed()
        if blocked is not None and (blocked.view(endpoint, rule) or (
                tool is not None and blocked.tool(tool))):
            raise _not_allowed()


def _outside(policy: Policy) -> AuthFailure:
    zone = getattr(policy.zone, "key", "UTC")
    return OUTSIDE_ALLOWED_HOURS.failure(
        f"This credential's policy allows it only on certain days and hours ({zone} time); "
        "retry within them.")


def _not_allowed() -> AuthFailure:
    return ENDPOINT_NOT_ALLOWED.failure(
        "This credential's policy does not allow it to reach this endpoint or tool.")


def check_address_claim(claim: str, claims: Mapping[str, Any], request: AuthRequest) -> None:
    """A bearer token bound to an address: its ``claim`` (an address or CIDR range, or a list
    of them) must contain the request's client address. Applies to token identities, the ones
    whose verified claims carry ``exp``; a token without the claim is refused."""
    if "exp" not in claims:
        return
    bound = claims.get(claim)
    networks = _claim_networks(bound)
    if networks is None:
        raise IP_NOT_ALLOWED.failure(
            f"This server binds tokens to the caller's address: the token must carry the "
            f"{claim} claim, an address or a list of addresses and CIDR ranges.")
    if not within(client_address(request.client_address), networks):
        raise IP_NOT_ALLOWED.failure(
            f"The token is bound to other addresses ({claim}) than the one this request came "
            "from: mint it for this client's address.")


def _claim_networks(value: object) -> tuple[Network, ...] | None:
    """The ranges a claim names, or ``None`` when it names none (absent, empty, malformed)."""
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list) or not entries or len(entries) > 64:
        return None
    networks = []
    for entry in entries:
        if not isinstance(entry, str):
            return None
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            return None
    return tuple(networks)
