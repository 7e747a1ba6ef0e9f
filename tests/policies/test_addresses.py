"""A policy's address rules through HTTP: the edges of a range, IPv6, IPv4-mapped IPv6, the
address as the app sees it (ProxyFix applied or not), and what a refusal by address costs.

Ranges are RFC 4632 (IPv4 CIDR) and RFC 4291 section 2.3 (IPv6 prefixes); IPv4-mapped IPv6
addresses are RFC 4291 section 2.5.5.2; X-Forwarded-For is the de facto header ProxyFix reads.
"""

from __future__ import annotations

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from ..helpers import API_KEY, AUDIENCE, assert_refused, bearer, make_token
from .conftest import PolicyApp, get

IPV4 = {"ip_allowlist": ["10.0.0.0/24"]}
IPV6 = {"ip_allowlist": ["2001:db8::/32"]}


@pytest.mark.parametrize("address", ["10.0.0.0", "10.0.0.255"])
def test_the_first_and_last_address_of_an_ipv4_range_are_allowed(
        policy_app: PolicyApp, address: str) -> None:
    """RFC 4632 section 3.1: a /24 holds .0 to .255."""
    assert get(policy_app(IPV4), address=address).status_code == 200


@pytest.mark.parametrize("address", ["9.255.255.255", "10.0.1.0"])
def test_the_addresses_just_outside_an_ipv4_range_are_refused(
        policy_app: PolicyApp, address: str) -> None:
    """RFC 4632 section 3.1: the neighbours of a /24 are outside it."""
    assert_refused(get(policy_app(IPV4), address=address), 403, "ip_not_allowed",
                   challenges=[], presented=API_KEY)


@pytest.mark.parametrize(("address", "status"), [
    ("2001:db8::", 200),
    ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 200),
    ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 403),
    ("2001:db9::", 403),
    ("10.0.0.1", 403),
])
def test_an_ipv6_range_holds_exactly_its_prefix(policy_app: PolicyApp, address: str,
                                                status: int) -> None:
    """RFC 4291 section 2.3: 2001:db8::/32 spans 2001:db8:: to 2001:db8:ffff:...:ffff."""
    assert get(policy_app(IPV6), address=address).status_code == status


@pytest.mark.parametrize(("address", "status"), [
    ("::ffff:10.0.0.0", 200), ("::ffff:10.0.0.255", 200), ("::ffff:10.0.1.0", 403),
])
def test_an_ipv4_mapped_ipv6_address_matches_the_ipv4_ranges(
        policy_app: PolicyApp, address: str, status: int) -> None:
    """RFC 4291 section 2.5.5.2: ::ffff:10.0.0.5 is the IPv4 client 10.0.0.5 on a dual-stack
    socket, so it is held to the IPv4 ranges."""
    assert get(policy_app(IPV4), address=address).status_code == status


def test_an_ipv4_mapped_address_is_denied_by_an_ipv4_denylist(policy_app: PolicyApp) -> None:
    """RFC 4291 section 2.5.5.2: the mapped form cannot slip past a denied IPv4 range."""
    app = policy_app({"ip_denylist": ["192.0.2.0/24"]})
    assert_refused(get(app, address="::ffff:192.0.2.7"), 403, "ip_not_allowed")
    assert get(app, address="::ffff:198.51.100.7").status_code == 200


@pytest.mark.parametrize(("address", "status"), [
    ("10.0.4.255", 200), ("10.0.5.0", 403), ("10.0.5.255", 403), ("10.0.6.0", 200),
])
def test_the_denylist_wins_over_the_allowlist_at_its_edges(
        policy_app: PolicyApp, address: str, status: int) -> None:
    """RFC 4632 section 3.1: the denied /24 inside an allowed /8, from its first to last."""
    app = policy_app({"ip_allowlist": ["10.0.0.0/8"], "ip_denylist": ["10.0.5.0/24"]})
    assert get(app, address=address).status_code == status


def test_a_single_address_is_its_own_range(policy_app: PolicyApp) -> None:
    """RFC 4632 section 3.1: an address alone is a /32."""
    app = policy_app({"ip_allowlist": ["198.51.100.7"]})
    assert get(app, address="198.51.100.7").status_code == 200
    assert get(app, address="198.51.100.8").status_code == 403


def test_a_request_without_a_client_address_is_refused_by_an_address_rule(
        policy_app: PolicyApp) -> None:
    """A Unix socket's peer has no IP address: no range can be said to hold it."""
    assert_refused(get(policy_app({"ip_denylist": ["192.0.2.0/24"]}), address=""), 403,
                   "ip_not_allowed")


def test_x_forwarded_for_is_ignored_without_proxyfix(policy_app: PolicyApp) -> None:
    """Without ProxyFix the header is the client's own claim: the peer address decides."""
    app = policy_app(IPV4)
    forged = get(app, address="192.0.2.1", headers={"OTC-API-Key": API_KEY,
                                                    "X-Forwarded-For": "10.0.0.1"})
    assert_refused(forged, 403, "ip_not_allowed")
    honest = get(app, address="10.0.0.1", headers={"OTC-API-Key": API_KEY,
                                                   "X-Forwarded-For": "192.0.2.1"})
    assert honest.status_code == 200


def test_with_proxyfix_the_forwarded_client_address_is_the_one_checked(
        policy_app: PolicyApp) -> None:
    """ProxyFix(x_for=1) makes the last X-Forwarded-For entry the client's address."""
    app = policy_app(IPV4)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    via_proxy = {"OTC-API-Key": API_KEY, "X-Forwarded-For": "10.0.0.9"}
    assert get(app, address="127.0.0.1", headers=via_proxy).status_code == 200
    outside = {"OTC-API-Key": API_KEY, "X-Forwarded-For": "192.0.2.1"}
    assert_refused(get(app, address="10.0.0.9", headers=outside), 403, "ip_not_allowed")


def test_with_proxyfix_a_client_cannot_prepend_an_allowed_address(policy_app: PolicyApp) -> None:
    """ProxyFix(x_for=1) trusts only the entry the one proxy appended, not what came before."""
    app = policy_app(IPV4)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    prepended = {"OTC-API-Key": API_KEY, "X-Forwarded-For": "10.0.0.1, 192.0.2.1"}
    assert_refused(get(app, address="127.0.0.1", headers=prepended), 403, "ip_not_allowed")


def test_refusals_by_address_count_toward_the_failure_limit(policy_app: PolicyApp) -> None:
    """Issue 16: a refused attempt from a denied address is a failed attempt, so the address
    is locked out (429) after OTC_AUTH_FAILURE_RATELIMIT of them, while others go on."""
    app = policy_app(IPV4, OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    for _ in range(2):
        assert_refused(get(app, address="192.0.2.1"), 403, "ip_not_allowed")
    assert_refused(get(app, address="192.0.2.1"), 429, "too_many_failed_attempts")
    assert get(app, address="10.0.0.1").status_code == 200


def test_a_token_clients_policy_applies_to_its_tokens(policy_app: PolicyApp) -> None:
    """OTC_AUTH_CLIENT_POLICIES: the policy of the client a token's aud names (RFC 7519
    section 4.1.3); a token naming no client is not held to it."""
    app = policy_app(OTC_AUTH_CLIENT_POLICIES={AUDIENCE: IPV4})
    token = bearer(make_token(sub="platform", aud=AUDIENCE))
    assert get(app, address="10.0.0.7", headers=token).status_code == 200
    assert_refused(get(app, address="192.0.2.1", headers=token), 403, "ip_not_allowed")
    no_client = bearer(make_token(sub="platform"))
    assert get(app, address="192.0.2.1", headers=no_client).status_code == 200


@pytest.mark.parametrize(("claim", "address", "status"), [
    ("10.0.0.7", "10.0.0.7", 200),
    ("10.0.0.7", "10.0.0.8", 403),
    (["10.0.0.0/30", "2001:db8::/64"], "10.0.0.3", 200),
    (["10.0.0.0/30", "2001:db8::/64"], "10.0.0.4", 403),
    (["10.0.0.0/30", "2001:db8::/64"], "2001:db8::ffff:ffff:ffff:ffff", 200),
    (["10.0.0.0/30", "2001:db8::/64"], "2001:db8:0:1::", 403),
    ("10.0.0.7", "::ffff:10.0.0.7", 200),
])
def test_a_bound_token_works_only_from_the_addresses_its_claim_names(
        policy_app: PolicyApp, claim: object, address: str, status: int) -> None:
    """OWASP IP binding with OTC_AUTH_TOKEN_ADDRESS_CLAIM: an address or CIDR list claim."""
    app = policy_app(OTC_AUTH_TOKEN_ADDRESS_CLAIM="client_ip")
    token = bearer(make_token(sub="platform", aud=AUDIENCE, client_ip=claim))
    response = get(app, address=address, headers=token)
    assert response.status_code == status
    if status == 403:
        assert_refused(response, 403, "ip_not_allowed", hint="client_ip")


@pytest.mark.parametrize("claim", [None, "", "not-an-address", [], [7]])
def test_a_token_without_a_usable_address_claim_is_refused_while_binding_is_on(
        policy_app: PolicyApp, claim: object) -> None:
    """A bound server refuses a token that names no address: it cannot be checked."""
    app = policy_app(OTC_AUTH_TOKEN_ADDRESS_CLAIM="client_ip")
    claims = {} if claim is None else {"client_ip": claim}
    token = bearer(make_token(sub="platform", aud=AUDIENCE, **claims))
    assert_refused(get(app, headers=token), 403, "ip_not_allowed", hint="client_ip")


def test_token_binding_is_off_by_default_and_never_binds_api_keys(policy_app: PolicyApp) -> None:
    """Off by default; an API key carries no claims, so the binding does not apply to it."""
    token = bearer(make_token(sub="platform", aud=AUDIENCE, client_ip="10.9.9.9"))
    assert get(policy_app(), address="10.0.0.1", headers=token).status_code == 200
    bound = policy_app(OTC_AUTH_TOKEN_ADDRESS_CLAIM="client_ip")
    assert get(bound, address="10.0.0.1").status_code == 200


def test_a_refused_bound_token_counts_toward_the_failure_limit(policy_app: PolicyApp) -> None:
    """Issue 16: a token used from an address it is not bound to is a failed attempt."""
    app = policy_app(OTC_AUTH_TOKEN_ADDRESS_CLAIM="client_ip",
                     OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    token = bearer(make_token(sub="platform", aud=AUDIENCE, client_ip="10.0.0.7"))
    assert_refused(get(app, address="192.0.2.1", headers=token), 403, "ip_not_allowed")
    assert_refused(get(app, address="192.0.2.1", headers=token), 429,
                   "too_many_failed_attempts")
