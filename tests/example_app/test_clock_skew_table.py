"""The table of issue 13, on a controlled clock: platforms whose clocks are off by up to 60 s.

Default settings, tokens minted as Node's ``jsonwebtoken`` mints them by default
(``iat = int(platform_now)``, ``exp = iat + 900``), 20 requests each 50 ms apart of platform
time, from one client address. Before the clock skew allowance a platform 0.3 s fast got 6 of
20 refused and one 1 s fast was locked out (429) after 20; now every answer is 200. The server
reads ``time.time``, which the test moves itself: nothing sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pytest

from ..helpers import assert_refused
from ..jsonwebtoken import NodeSigner, install
from .spec_platform import AUDIENCE, BASE_URL, SECRET, bearer, production_app

REQUESTS = 20
SPACING_SECONDS = 0.05
# Platform clock minus server clock, in seconds: the table's rows.
OFFSETS = [0.0, 0.3, 0.7, 1.0, 2.0, 5.0, 30.0, 60.0, -60.0]


class Clock:
    """The server's clock, started at a whole second: 20 requests 50 ms apart then meet every
    fraction of a second, where ``int(platform_now)`` runs ahead of the server."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    controlled = Clock()
    monkeypatch.setattr(time, "time", controlled)
    return controlled


@pytest.fixture(scope="module")
def jsonwebtoken() -> NodeSigner:
    return install()


Minter = Callable[[list[int]], list[str]]


def pyjwt_minter(issued: list[int]) -> list[str]:
    return [jwt.encode({"aud": AUDIENCE, "iat": iat, "exp": iat + 900}, SECRET,
                       algorithm="HS256") for iat in issued]


def answers(monkeypatch: pytest.MonkeyPatch, clock: Clock, ahead: float, mint: Minter,
            count: int = REQUESTS) -> list[int]:
    """The statuses of ``count`` requests by a platform whose clock is ``ahead`` of ours."""
    client = production_app(monkeypatch).test_client()
    start = clock.now
    issued = [int(start + ahead + index * SPACING_SECONDS) for index in range(count)]
    statuses = []
    for index, token in enumerate(mint(issued)):
        clock.now = start + index * SPACING_SECONDS
        statuses.append(client.get("/tools", headers=bearer(token), base_url=BASE_URL
                                   ).status_code)
    return statuses


@pytest.mark.parametrize("ahead", OFFSETS, ids=lambda ahead: f"{ahead:+}s")
def test_pyjwt_tokens_from_a_skewed_platform_are_all_accepted(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, ahead: float
) -> None:
    assert answers(monkeypatch, clock, ahead, pyjwt_minter) == [200] * REQUESTS


@pytest.mark.parametrize("ahead", OFFSETS, ids=lambda ahead: f"{ahead:+}s")
def test_node_tokens_from_a_skewed_platform_are_all_accepted(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, ahead: float, jsonwebtoken: NodeSigner
) -> None:
    def node_minter(issued: list[int]) -> list[str]:
        return jsonwebtoken.sign(SECRET, [({"iat": iat}, {"audience": AUDIENCE,
                                                          "expiresIn": 900})
                                          for iat in issued])

    assert answers(monkeypatch, clock, ahead, node_minter) == [200] * REQUESTS


def test_a_platform_beyond_the_skew_is_told_why_every_time_and_never_locked_out(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """90 s fast: each token is refused, saying so, more often than the 20 failures an
    address may have a minute; once the clock is fixed, the next token is accepted."""
    client = production_app(monkeypatch).test_client()
    for _ in range(30):
        token = pyjwt_minter([int(clock.now + 90)])[0]
        assert_refused(client.get("/tools", headers=bearer(token), base_url=BASE_URL), 401,
                       "invalid_token", hint="s ahead of this server's clock")
        clock.now += SPACING_SECONDS
    fixed = pyjwt_minter([int(clock.now)])[0]
    assert client.get("/tools", headers=bearer(fixed), base_url=BASE_URL).status_code == 200


def test_a_token_61_s_ahead_is_the_first_refused(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    client = production_app(monkeypatch).test_client()
    edge, beyond = pyjwt_minter([int(clock.now) + 60, int(clock.now) + 61])
    assert client.get("/tools", headers=bearer(edge), base_url=BASE_URL).status_code == 200
    assert_refused(client.get("/tools", headers=bearer(beyond), base_url=BASE_URL), 401,
                   "invalid_token", hint="iat is 61 s ahead")
