"""More than one Redis: Sentinel (with a failover in the middle) and Cluster, for every piece of
shared state (nonces, both limits), through the URIs ``limits`` understands.

A master, its replica and three sentinels of the test's own, and a real three-node cluster made
by ``redis-cli --cluster create``, on free ports in the test's temporary directory.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from limits import parse_many

from flask_otcauth.client import HttpxAuth
from flask_otcauth.core.ratelimit import RateLimits, build_strategy
from flask_otcauth.core.redis_clients import redis_client
from flask_otcauth.core.storage import NAMESPACE, NONCE_SET

from ..conftest import ServerFactory
from ..helpers import (
    API_KEY,
    HMAC_CLIENT,
    HMAC_SECRET,
    RUN_NAMESPACE,
    api_key,
    settle_nonce_store,
)
from ..redis_servers import SERVICE, redis_cluster, sentinel_group, sentinel_uri, wait_until
from .test_storage_faults import BAD_KEY, BODY, settings, signed_post

pytestmark = pytest.mark.e2e

OTHER_KEY = "second-api-key-" + "Hj7Kl" * 7


def statuses(base_url: str, headers: dict[str, str], count: int) -> Counter[int | str]:
    """Status counts; a refusal counted by its code (``429 rate_limited``)."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        responses = [http.get("/tools/list", headers=headers) for _ in range(count)]
    return Counter(r.status_code if r.status_code == 200 else f"{r.status_code} {r.json()['error']}"
                   for r in responses)


def test_a_sentinel_failover_loses_no_nonce_and_keeps_the_limits_exact(
    gunicorn: ServerFactory, tmp_path: Path
) -> None:
    """Failover forced in the middle of steady traffic: no 500, the signature spent before it
    is never accepted after, and a limit of 5 admits exactly 5 across both workers after it."""
    with sentinel_group(tmp_path) as (master, replica, sentinels):
        uri = sentinel_uri(sentinels)
        settle_nonce_store(uri)
        # Bad keys flow during the failover: a failure limit they never reach, but count in.
        base_url = gunicorn(settings(uri, OTC_AUTH_API_KEYS=[API_KEY, OTHER_KEY],
                                     OTC_AUTH_RATELIMIT="5/minute",
                                     OTC_AUTH_FAILURE_RATELIMIT="100000/minute"))
        url, spent = signed_post(base_url)
        before = httpx.post(url, content=BODY, headers=spent, timeout=10)
        assert before.status_code == 200, before.text
        master.client().wait(1, 2000)  # the replica has it

        seen: Counter[int] = Counter()
        stop = threading.Event()

        def traffic() -> None:
            with httpx.Client(base_url=base_url, timeout=10) as http:
                while not stop.is_set():
                    seen[http.get("/health").status_code] += 1
                    seen[http.get("/tools/list", headers=api_key(BAD_KEY)).status_code] += 1
                    seen[http.post("/tools/echo", content=BODY,
                                   auth=HttpxAuth(HMAC_CLIENT, HMAC_SECRET)).status_code] += 1

        background = threading.Thread(target=traffic)
        background.start()
        started = time.monotonic()
        try:
            sentinels[0].client().execute_command("SENTINEL", "FAILOVER", SERVICE)
            wait_until(lambda: replica.client().info("replication")["role"] == "master",
                       "the replica was not promoted")
            # What Sentinel does to the old master once it reports again (up to seconds later):
            # connections still open to it now meet READONLY, and must find the new master.
            master.client().replicaof("127.0.0.1", replica.port)
            wait_until(lambda: sentinels[0].client().sentinel_get_master_addr_by_name(
                SERVICE)[1] == replica.port, "the sentinels did not name the new master")
        finally:
            stop.set()
            background.join()
        print(f"\nfailover in {time.monotonic() - started:.2f} s: {dict(seen)}")
        replays = [httpx.post(url, content=BODY, headers=spent, timeout=10) for _ in range(3)]
        time.sleep(2)  # a store that began anew (a new master) refuses for the leeway (1 s)
        limited = statuses(base_url, api_key(OTHER_KEY), 8)
        counted_on_new_master = replica.client().keys(f"{RUN_NAMESPACE}:*caller*")

    assert 500 not in seen
    assert seen[200] > 0
    # Refused: 401 if the new master has the nonce, 503 (it began anew) until the leeway passed.
    assert {r.status_code for r in replays} <= {401, 503}
    assert limited == Counter({200: 5, "429 rate_limited": 3})
    assert counted_on_new_master


def test_every_script_s_keys_share_one_cluster_slot(tmp_path: Path) -> None:
    """A script may only touch one slot: CLUSTER KEYSLOT of each call's keys, as built."""
    with redis_cluster(tmp_path) as nodes:
        node = nodes[0].client()
        limits = RateLimits(build_strategy(",".join(
            ["redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in nodes)])),
            per_identity=tuple(parse_many("10/second;500/hour")),
            per_failure=tuple(parse_many("5/minute;100/day")))
        slots = {}
        for kind, name, items in (("caller", "jwt:agent-7", limits._per_identity),
                                  ("caller", "api_key:3fa9c2", limits._per_identity),
                                  ("failed", "203.0.113.7", limits._per_failure)):
            keys = limits._keys(kind, name, items)
            slots[name] = {node.cluster("keyslot", key) for key in keys}
        nonce_slot = node.cluster("keyslot", NAMESPACE + NONCE_SET)

    assert all(len(found) == 1 for found in slots.values()), slots
    assert len({next(iter(found)) for found in slots.values()}) == 3  # spread over the cluster
    assert isinstance(nonce_slot, int)


def test_a_three_node_cluster_holds_nonces_and_exact_limits(
    gunicorn: ServerFactory, tmp_path: Path
) -> None:
    with redis_cluster(tmp_path) as nodes:
        uri = "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in nodes)
        settle_nonce_store(uri)
        base_url = gunicorn(settings(uri, OTC_AUTH_RATELIMIT="5/minute",
                                     OTC_AUTH_FAILURE_RATELIMIT="3/minute"))
        url, headers = signed_post(base_url)
        first = httpx.post(url, content=BODY, headers=headers, timeout=10)
        replay = httpx.post(url, content=BODY, headers=headers, timeout=10)
        accepted = statuses(base_url, api_key(), 7)
        failed = statuses(base_url, api_key(BAD_KEY), 5)
        keys = sum(node.client().dbsize() for node in nodes)
        client = redis_client(uri, 0.25)  # as the app makes it
        node_options = client.nodes_manager.connection_kwargs
        retries = client.retry.get_retries()

    assert [first.status_code, replay.status_code] == [200, 401]
    assert accepted == Counter({200: 5, "429 rate_limited": 2})
    # The replay was the first failed attempt of three: two bad keys more, then locked out.
    assert failed == Counter({"401 invalid_api_key": 2, "429 too_many_failed_attempts": 3})
    assert keys >= 3  # nonce set, caller counter, failure counter, on the cluster's nodes
    assert node_options["socket_timeout"] == node_options["socket_connect_timeout"] == 0.25
    assert retries == 0  # the cluster client would retry timeouts: the circuit takes over
