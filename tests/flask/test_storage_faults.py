"""Issue 14's table, row by row: a real multi-worker server on 127.0.0.1 and a redis-server of
the test's own, and each fault a Redis has in production injected while requests flow:

- restarted without persistence, restarted from an older snapshot, FLUSHALL: a signature sent
  before is refused after (the nonce store lost its memory, and says so);
- maxmemory under volatile-ttl, allkeys-lru, noeviction: a spent signature is never accepted
  again;
- hung (SIGSTOP): no request waits longer than the timeout, and after the first, none waits;
- 200 bad keys from 20 threads on 4 workers: exactly the failure limit answered 401, then 429;
- down, with an identity limit: at most the limit in each worker, or 503 with Retry-After.

Timing bounds are generous (a 2-core machine shared with other work); the figures measured on
it are in docs/deploying.md. The topologies (Sentinel failover, Cluster) are
tests/flask/test_storage_topologies.py.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from flask_otcauth.client import sign_request
from flask_otcauth.core.circuit import PROBE_INTERVAL_SECONDS

from ..conftest import ServerFactory, build_app
from ..helpers import (
    API_KEY,
    AUDIENCE,
    HMAC_CLIENT,
    HMAC_SECRET,
    JWT_SECRET,
    RUN_NAMESPACE,
    api_key,
    bearer,
    make_token,
    settle_nonce_store,
)
from ..redis_servers import RedisServer, redis_server

pytestmark = pytest.mark.e2e

BODY = b'{"tool": "echo"}'
TIMEOUT = 0.25  # OTC_AUTH_STORAGE_TIMEOUT's default
BAD_KEY = "not-a-key-" + "Qw3Er" * 7
NONCE_SET = f"{RUN_NAMESPACE}:{{hmac-nonces}}"  # where the run's apps keep their nonces
Send = Callable[[httpx.Client], httpx.Response]


def settings(storage_uri: str, **overrides: Any) -> dict[str, object]:
    values: dict[str, object] = {
        "OTC_AUTH_METHODS": ["hmac", "jwt", "api_key"],
        "OTC_AUTH_HMAC_CLIENTS": {HMAC_CLIENT: HMAC_SECRET},
        "OTC_AUTH_HMAC_LEEWAY": 1,  # a store that starts over refuses for this long: keep it short
        "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE],
        "OTC_AUTH_API_KEYS": [API_KEY],
        "OTC_AUTH_RATELIMIT": None,
        "OTC_AUTH_FAILURE_RATELIMIT": None,
        "OTC_AUTH_RATELIMIT_STORAGE_URI": storage_uri,
        "OTC_AUTH_REQUIRE_HTTPS": False,  # plain HTTP on 127.0.0.1, no proxy in front
    }
    values.update(overrides)
    return values


def signed_post(base_url: str) -> tuple[str, dict[str, str]]:
    url = f"{base_url}/tools/echo"
    return url, sign_request("POST", url, key_id=HMAC_CLIENT, secret=HMAC_SECRET, body=BODY)


def send_signed(http: httpx.Client) -> httpx.Response:
    url, headers = signed_post(str(http.base_url).rstrip("/"))
    return http.post(url, content=BODY, headers=headers)


def send_jwt(http: httpx.Client) -> httpx.Response:
    return http.get("/tools/list", headers=bearer(make_token(sub="agent", aud=AUDIENCE)))


def send_key(http: httpx.Client) -> httpx.Response:
    return http.get("/tools/list", headers=api_key())


def send_health(http: httpx.Client) -> httpx.Response:
    return http.get("/health")


def storage_log_lines(log: Path) -> Counter[str]:
    text = log.read_text()
    return Counter({"opened": text.count("is unavailable ("),
                    "closed": text.count("answers again")})


# Rows 1-3: a nonce store that lost its memory ------------------------------------------------


def lose_memory(redis: RedisServer, fault: str) -> None:
    if fault == "flushall":
        redis.client().flushall()
    else:  # "restart": empty; "snapshot": the dump.rdb saved before the signature was spent
        redis.restart()


@pytest.mark.parametrize("fault", ["restart", "snapshot", "flushall"])
def test_a_signature_spent_before_the_store_lost_its_memory_is_refused_after(
    gunicorn: ServerFactory, tmp_path: Path, fault: str
) -> None:
    """Before: 4 of 4 replays after a restart ran the tool. A snapshot holds the set's marker but
    not the nonce spent after it: the marker names the server process that wrote it."""
    with redis_server(tmp_path) as redis:
        settle_nonce_store(redis.url)
        if fault == "snapshot":
            redis.client().save()
        base_url = gunicorn(settings(redis.url))
        url, headers = signed_post(base_url)
        with httpx.Client(timeout=10) as http:
            assert http.post(url, content=BODY, headers=headers).status_code == 200

            lose_memory(redis, fault)
            replays = [http.post(url, content=BODY, headers=headers) for _ in range(4)]
            wait = max(int(r.headers.get("Retry-After", "0")) for r in replays)
            time.sleep(wait)
            fresh = send_signed(httpx.Client(base_url=base_url, timeout=10))

    assert [r.status_code for r in replays] == [503] * 4
    assert {r.json()["error"] for r in replays} == {"temporarily_unavailable"}
    assert "lost its memory" in replays[0].json()["developer_message"]
    assert 1 <= wait <= 3  # the leeway (1 s) after the store started over, rounded up
    assert fresh.status_code == 200  # signed after the new start: nothing can have been missed


def fill(redis: RedisServer, *, stop: Callable[[], bool]) -> None:
    """Write 1 KiB values (with a TTL longer than a nonce's) until ``stop()`` says enough, or,
    under noeviction, until Redis refuses them. An eviction policy may refuse a write too, for a
    moment, while it is still evicting (maxmemory-eviction-tenacity): then try again."""
    import redis as redis_py  # noqa: PLC0415 - the redis extra

    client = redis.client()
    refuses = client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    for batch in range(400):
        pipe = client.pipeline(transaction=False)
        for n in range(100):
            pipe.set(f"filler:{batch}:{n}", b"x" * 1024, ex=3600)
        try:
            pipe.execute()
        except redis_py.exceptions.OutOfMemoryError:
            if refuses:
                return
            time.sleep(0.05)
        if stop():
            return
    pytest.fail("filling Redis never reached the state the test waits for")


@pytest.mark.parametrize("policy", ["volatile-ttl", "allkeys-lru", "noeviction"])
def test_eviction_never_reopens_a_spent_signature(
    gunicorn: ServerFactory, tmp_path: Path, policy: str
) -> None:
    """Before: under volatile-ttl the newest nonces (shortest TTLs) went first, and a replay was
    accepted twice in a row. The nonce set has no TTL (volatile-* never evicts it); evicted
    whole under allkeys-*, its marker goes with it; noeviction refuses the write."""
    with redis_server(tmp_path, "--maxmemory", "4mb", "--maxmemory-policy", policy) as redis:
        settle_nonce_store(redis.url)
        # A Redis busy being filled may answer slower than the default timeout on a loaded
        # 2-core machine; this test is about eviction, so a timeout must not open the circuit.
        base_url = gunicorn(settings(redis.url, OTC_AUTH_STORAGE_TIMEOUT=2.0))
        url, headers = signed_post(base_url)
        client = redis.client()
        with httpx.Client(timeout=10) as http:
            assert http.post(url, content=BODY, headers=headers).status_code == 200
            if policy == "allkeys-lru":
                fill(redis, stop=lambda: not client.exists(NONCE_SET))
            else:
                fill(redis, stop=lambda: client.info("stats")["evicted_keys"] > 2000)
            refused_filler = policy == "noeviction" and not _writable(client)
            replays = [http.post(url, content=BODY, headers=headers) for _ in range(2)]
            fresh = send_signed(httpx.Client(base_url=base_url, timeout=10))
            evicted = client.info("stats")["evicted_keys"]
    log = storage_log_lines(tmp_path / "gunicorn-0.log")

    if policy == "allkeys-lru":  # the set went, with its marker: the store says it forgot
        assert [r.status_code for r in replays] == [503, 503]
        assert "lost its memory" in replays[0].json()["developer_message"]
    else:  # the set stayed: the nonce is known
        assert [r.status_code for r in replays] == [401, 401]
        assert "nonce was already used" in replays[0].json()["developer_message"]
    if policy == "noeviction":
        # Full: Redis refuses plain writes; the nonce script drops expired nonces first, and a
        # script that has written is not stopped by maxmemory, so signed requests go on.
        assert refused_filler
        assert fresh.status_code == 200
    else:
        assert evicted > (2000 if policy == "volatile-ttl" else 0)
        # After allkeys-lru took the set, a new signature waits out the leeway: not yet.
        assert fresh.status_code == (200 if policy == "volatile-ttl" else 503)
    assert log["opened"] == 0  # a full Redis answers: an error, not an outage


def _writable(client: Any) -> bool:
    """Whether Redis still takes plain writes: a full one may take the first few, while its
    memory is a hair under the limit, so a single write proves nothing; 64 KiB more does."""
    import redis as redis_py  # noqa: PLC0415 - the redis extra

    try:
        for n in range(64):
            client.set(f"one-more:{n}", b"x" * 1024)
    except redis_py.exceptions.OutOfMemoryError:
        return False
    return True


@pytest.mark.parametrize(("policy", "said"), [
    ("allkeys-lru", "warning: storage redis://127.0.0.1:{port}/0 has maxmemory-policy "
                    "allkeys-lru: when full it evicts any key, the hmac nonce set included"),
    ("volatile-ttl", "  volatile-ttl evicts rate-limit counters when full (their limits start "
                     "over); the nonce set has no expiry and is never evicted"),
    ("noeviction", "maxmemory 4194304 bytes, maxmemory-policy noeviction, persistence none"),
    ("no-config", "eviction policy unknown (it must not be allkeys-*)\n"
                  "  CONFIG GET is not allowed, so its eviction policy is unknown"),
])
def test_check_warns_when_the_eviction_policy_can_evict_nonces(
    tmp_path: Path, policy: str, said: str
) -> None:
    """A managed Redis often renames CONFIG: then the check says it cannot tell."""
    options = (["--rename-command", "CONFIG", ""] if policy == "no-config"
               else ["--maxmemory-policy", policy])
    with redis_server(tmp_path, "--maxmemory", "4mb", *options) as redis:
        app = build_app(OTC_AUTH_METHODS=["hmac"], OTC_AUTH_HMAC_CLIENTS={"p": HMAC_SECRET},
                        OTC_AUTH_STORAGE_URI=redis.url)
        output = app.test_cli_runner().invoke(args=["otcauth", "check"]).output

    assert said.format(port=redis.port) in output
    assert ("allkeys" in policy) == ("warning: storage" in output)


# Row 4: Redis hung ----------------------------------------------------------------------------


def timed(send: Send, http: httpx.Client) -> tuple[int, float]:
    start = time.perf_counter()
    status = send(http).status_code
    return status, time.perf_counter() - start


def drive(base_url: str, seconds: float) -> dict[str, list[tuple[int, float]]]:
    """Every kind of request, from two threads (so both workers are busy), for ``seconds``."""
    kinds: dict[str, Send] = {"jwt": send_jwt, "key": send_key, "hmac": send_signed,
                              "health": send_health}
    seen: dict[str, list[tuple[int, float]]] = {kind: [] for kind in kinds}
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def loop(_: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            while time.monotonic() < deadline:
                for kind, send in kinds.items():
                    result = timed(send, http)
                    with lock:
                        seen[kind].append(result)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(loop, range(2)))
    return seen


def answered_again(base_url: str) -> float:
    """When signed requests were accepted again by every worker, twice in a row each."""
    streak: Counter[str] = Counter()
    deadline = time.monotonic() + 10
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while time.monotonic() < deadline:
            response = send_signed(http)
            pid = response.headers["X-Worker-Pid"]
            streak[pid] = streak[pid] + 1 if response.status_code == 200 else 0
            if len(streak) == 2 and min(streak.values()) >= 2:
                return time.monotonic()
            time.sleep(0.02)
    pytest.fail(f"signed requests were not accepted again within 10 s: {streak}")


def test_a_hung_redis_costs_no_request_more_than_the_timeout(
    gunicorn: ServerFactory, tmp_path: Path
) -> None:
    """Before: with Redis stopped (SIGSTOP) for 5 / 12 / 35 s, every JWT, key and hmac request
    waited 5 / 12 / up to 22 s, /health 14.5 s behind them. Now the first request of each
    worker waits the timeout, the circuit opens, the following ones do not wait; one request
    per second and worker probes (and waits the timeout again)."""
    hang = 3.0
    with redis_server(tmp_path) as redis:
        settle_nonce_store(redis.url)
        base_url = gunicorn(settings(redis.url, OTC_AUTH_RATELIMIT="100000/minute",
                                     OTC_AUTH_FAILURE_RATELIMIT="1000/minute"))
        with httpx.Client(base_url=base_url, timeout=10) as http:
            assert [send(http).status_code for send in (send_jwt, send_key, send_signed)] == [
                200, 200, 200]
        redis.pause()
        try:
            during = drive(base_url, hang)
        finally:
            redis.resume()
        resumed = time.monotonic()
        recovered = answered_again(base_url)
    log = storage_log_lines(tmp_path / "gunicorn-0.log")
    latencies = [seconds for results in during.values() for _, seconds in results]
    paid = [seconds for seconds in latencies if seconds >= TIMEOUT * 0.8]
    print(f"\nhung {hang} s: {len(latencies)} requests, max {max(latencies):.3f} s, median "
          f"{statistics.median(latencies) * 1000:.1f} ms, {len(paid)} paid the timeout; "
          f"/health max {max(s for _, s in during['health']):.3f} s")

    assert {kind: {status for status, _ in results} for kind, results in during.items()} == {
        "jwt": {200}, "key": {200}, "hmac": {503}, "health": {200}}
    assert max(latencies) < TIMEOUT + 1.0  # the timeout, plus a loaded machine's slack
    assert max(seconds for _, seconds in during["health"]) < 1.0
    # 2 workers x (1 first timeout + 1 probe a second): a handful, out of hundreds.
    assert len(paid) <= 2 * (hang + 2)
    assert len(latencies) > 10 * len(paid)
    # Each worker's circuit closes at its next probe, within a second of Redis answering.
    assert recovered - resumed < PROBE_INTERVAL_SECONDS + 1.0
    assert 1 <= log["opened"] <= 2  # one WARNING per worker that saw it, not per request
    assert log["closed"] == log["opened"]


def test_a_restarted_redis_is_reconnected_without_an_outage(
    gunicorn: ServerFactory, tmp_path: Path
) -> None:
    """Every pooled connection died with the old process: each is retried once, at once."""
    with redis_server(tmp_path) as redis:
        base_url = gunicorn(settings(redis.url, OTC_AUTH_METHODS=["jwt", "api_key"],
                                     OTC_AUTH_RATELIMIT="1000/minute",
                                     OTC_AUTH_FAILURE_RATELIMIT="1000/minute"))
        with httpx.Client(base_url=base_url, timeout=10) as http:
            before = [send(http).status_code for send in (send_jwt, send_key) * 5]
            redis.restart()
            after = [send(http).status_code for send in (send_jwt, send_key) * 5]

    assert before == after == [200] * 10
    assert storage_log_lines(tmp_path / "gunicorn-0.log")["opened"] == 0


# Row 5: 200 bad keys from 20 threads ----------------------------------------------------------


def statuses_of_twenty_threads(base_url: str, headers: dict[str, str], count: int = 200
                               ) -> Counter[int]:
    barrier = threading.Barrier(20)

    def send(n: int) -> int:
        if n < 20:
            barrier.wait(timeout=30)
        return httpx.get(f"{base_url}/tools/list", headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        return Counter(pool.map(send, range(count)))


@pytest.mark.parametrize("workers", [("-w", "4"), ("-w", "4", "-k", "gthread", "--threads", "8")],
                         ids=["4-sync", "4x8-threads"])
def test_failure_and_identity_limits_are_exact_across_four_workers(
    gunicorn: ServerFactory, tmp_path: Path, workers: tuple[str, ...]
) -> None:
    """Before: 50-53 answers of 401 (sync workers), up to 59 (4 x 8 threads) under a failure
    limit of 50: checked, then counted. The identity limit was exact already; it stays so."""
    with redis_server(tmp_path) as redis:
        base_url = gunicorn(settings(redis.url, OTC_AUTH_RATELIMIT="50/minute",
                                     OTC_AUTH_FAILURE_RATELIMIT="50/minute"), args=workers)
        accepted = statuses_of_twenty_threads(base_url, api_key())
        refused = statuses_of_twenty_threads(base_url, api_key(BAD_KEY))

    assert accepted == Counter({200: 50, 429: 150})
    assert refused == Counter({401: 50, 429: 150})


# Row 6: Redis down, identity limit ------------------------------------------------------------


@pytest.mark.parametrize("fallback", ["per-process", "refuse"])
def test_while_redis_is_down_the_identity_limit_counts_per_worker_or_refuses(
    gunicorn: ServerFactory, tmp_path: Path, fallback: str
) -> None:
    """Before, and still by default: each worker counts from zero (the documented limit x
    workers). With OTC_AUTH_RATELIMIT_FALLBACK = "refuse": 503 with Retry-After instead."""
    with redis_server(tmp_path) as redis:
        base_url = gunicorn(settings(redis.url, OTC_AUTH_METHODS=["api_key"],
                                     OTC_AUTH_RATELIMIT="30/minute",
                                     OTC_AUTH_RATELIMIT_FALLBACK=fallback))
        redis.stop()

        def send(_: int) -> httpx.Response:
            return httpx.get(f"{base_url}/tools/list", headers=api_key(), timeout=30)

        with ThreadPoolExecutor(max_workers=4) as pool:
            responses = list(pool.map(send, range(100)))
    served = Counter(r.headers["X-Worker-Pid"] for r in responses)
    accepted = Counter(r.headers["X-Worker-Pid"] for r in responses if r.status_code == 200)

    if fallback == "refuse":
        assert Counter(r.status_code for r in responses) == Counter({503: 100})
        assert {r.json()["error"] for r in responses} == {"temporarily_unavailable"}
        assert {r.headers["Retry-After"] for r in responses} == {"5"}
    else:
        assert {r.status_code for r in responses} <= {200, 429}
        # Each worker admits up to the limit on its own: 2 workers, up to 60 of 100.
        assert accepted == Counter({pid: min(30, n) for pid, n in served.items()})
        assert sum(accepted.values()) > 30
