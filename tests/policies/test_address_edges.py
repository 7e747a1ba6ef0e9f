"""The edges of every kind of address range, with ProxyFix off (the peer is the client) and on
(the one proxy's X-Forwarded-For entry is the client, the peer is the proxy): the same answer
for the same client address either way.

Ranges are RFC 4632 section 3.1 (IPv4 CIDR) and RFC 4291 section 2.3 (IPv6 prefixes); the
IPv4-mapped form is RFC 4291 section 2.5.5.2; X-Forwarded-For is what ProxyFix(x_for=1) reads.
"""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse

from ..helpers import API_KEY, assert_refused
from .conftest import PolicyApp, get

POLICY = {"ip_allowlist": ["10.0.0.0/24", "2001:db8::/48"],
          "ip_denylist": ["10.0.0.128/25", "2001:db8:0:ff00::/56"]}
PROXY = "127.0.0.1"  # the proxy's own address: in no range, so it can let nobody in itself

EDGES = [
    ("10.0.0.0", 200), ("10.0.0.127", 200),  # the allowed /24's first, the denied /25's neighbour
    ("10.0.0.128", 403), ("10.0.0.255", 403),  # the denied /25, first and last
    ("9.255.255.255", 403), ("10.0.1.0", 403),  # just outside the /24
    ("2001:db8::", 200), ("2001:db8:0:feff:ffff:ffff:ffff:ffff", 200),
    ("2001:db8:0:ff00::", 403), ("2001:db8:0:ffff:ffff:ffff:ffff:ffff", 403),  # denied /56
    ("2001:db8:1::", 403), ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 403),  # outside the /48
    ("::ffff:10.0.0.0", 200), ("::ffff:10.0.0.127", 200),  # IPv4-mapped: the IPv4 ranges hold
    ("::ffff:10.0.0.128", 403), ("::ffff:10.0.1.0", 403),
]


def request_from(app: Flask, client: str, *, proxied: bool) -> TestResponse:
    """A request from ``client``: the peer itself, or behind one proxy that appends it."""
    if not proxied:
        return get(app, address=client)
    return get(app, address=PROXY, headers={"OTC-API-Key": API_KEY, "X-Forwarded-For": client})


def with_proxyfix(app: Flask) -> Flask:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    return app


@pytest.mark.parametrize("proxied", [False, True], ids=["peer", "proxyfix"])
@pytest.mark.parametrize(("client", "status"), EDGES)
def test_every_edge_of_a_range_answers_the_same_with_and_without_proxyfix(
        policy_app: PolicyApp, client: str, status: int, proxied: bool) -> None:
    app = policy_app(POLICY)
    if proxied:
        with_proxyfix(app)
    response = request_from(app, client, proxied=proxied)
    if status == 200:
        assert response.status_code == 200, response.json
    else:
        assert_refused(response, 403, "ip_not_allowed", challenges=[], presented=API_KEY)


@pytest.mark.parametrize(("peer", "forwarded", "status"), [
    ("192.0.2.1", "10.0.0.0", 403), ("192.0.2.1", "10.0.0.127", 403),
    ("10.0.0.0", "10.0.0.128", 200), ("10.0.0.127", "::ffff:10.0.1.0", 200),
])
def test_without_proxyfix_a_forwarded_edge_address_changes_nothing(
        policy_app: PolicyApp, peer: str, forwarded: str, status: int) -> None:
    """The header is the caller's own claim until ProxyFix says a proxy wrote it: the peer
    decides, whichever edge the header names."""
    response = get(policy_app(POLICY), address=peer,
                   headers={"OTC-API-Key": API_KEY, "X-Forwarded-For": forwarded})
    assert response.status_code == status
