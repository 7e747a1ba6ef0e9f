"""The Redis clients the extension opens, all bounded by one timeout; Flask-free.

Every client (the shared storage's, the rate-limit storage's, the admit script's own
connections, the one ``flask otcauth check`` probes with) gets its connect timeout, socket
timeout and retries here, from ``OTC_AUTH_STORAGE_TIMEOUT``: none keeps redis-py's defaults
(5 s socket timeout and 10 retries with backoff: a hung Redis held each request for 20 s and
more). A dropped connection (Redis restarted, a Sentinel failover) is retried once, at once:
it fails fast, and the second attempt connects to the server as it is now. A timeout is never
retried, so no request waits for one Redis longer than the timeout (plus that fast retry).

The URIs are those ``limits`` understands (``redis://``, ``rediss://``, ``redis+unix://``,
``redis+sentinel://host:port,host:port/service``, ``redis+cluster://host:port,host:port``),
parsed by ``limits`` for every piece of shared state, so one URI means one thing everywhere.
Options the URI's query string sets (``?socket_timeout=1``) win over ours, as do those given
in ``RATELIMIT_STORAGE_OPTIONS``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_SECONDS: Final = 0.25
"""A Redis next to the app answers in well under a millisecond: a quarter of a second is an
outage already, and short enough that a tool call hardly notices it."""
SENTINEL_SCHEMES: Final = ("redis+sentinel",)
CLUSTER_SCHEMES: Final = ("redis+cluster",)
PLAIN_SCHEMES: Final = ("redis", "rediss", "redis+unix", "unix")
REDIS_SCHEMES: Final = PLAIN_SCHEMES + SENTINEL_SCHEMES + CLUSTER_SCHEMES
PROBE_ROUND_TRIPS: Final = 5


def scheme_of(uri: str) -> str:
    return urlsplit(uri).scheme.lower()


def is_redis(uri: str) -> bool:
    """Whether ``uri`` names a Redis this module opens clients for (valkey:// and other
    storages keep their drivers' own options)."""
    return scheme_of(uri) in REDIS_SCHEMES


def limits_uri(uri: str) -> str:
    """``uri`` as ``limits`` spells it (redis-py's ``unix://`` is its ``redis+unix://``)."""
    return "redis+unix://" + uri.removeprefix("unix://") if uri.startswith("unix://") else uri


def client_options(uri: str, timeout: float, given: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The options of a client for ``uri``: ours, then the ``given`` ones over them.

    Not a Redis URI: ``given`` alone (a memcached client takes none of these).
    """
    options = dict(given or {})
    if not is_redis(uri):
        return options
    from redis.backoff import NoBackoff  # noqa: PLC0415 - the redis extra
    from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    ours: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    scheme = scheme_of(uri)
    if scheme in CLUSTER_SCHEMES:
        # The cluster client retries timeouts too: no retry, the circuit takes over.
        ours["retry"] = Retry(NoBackoff(), 0)
    else:
        ours["retry"] = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    if scheme in SENTINEL_SCHEMES:
        ours["sentinel_kwargs"] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    return {**ours, **options}


def open_limits_storage(uri: str, timeout: float, given: Mapping[str, Any] | None = None
                        ) -> Any:
    """The ``limits`` storage ``uri`` names, its client bounded by ``timeout``.

    Raises ``limits``' ConfigurationError (unknown scheme, missing driver), ValueError (a bad
    URI), and for a Redis Cluster that does not answer, redis-py's error: its client reads the
    slot map as it is made.
    """
    from limits.storage import storage_from_string  # noqa: PLC0415 - limits is a dependency

    return storage_from_string(limits_uri(uri), **client_options(uri, timeout, given))


def redis_client(uri: str, timeout: float) -> Any:
    """A redis-py client for ``uri`` (a ``RedisCluster`` for a cluster, the master's client
    for Sentinel), bounded by ``timeout``."""
    return open_limits_storage(uri, timeout).get_connection()


@dataclass
class Probe:
    """What ``flask otcauth check`` learnt from one Redis: all ``None`` when it did not answer."""

    latency_ms: float | None = None
    version: str | None = None
    maxmemory: int | None = None
    policy: str | None = None  # None: CONFIG GET is not allowed (a managed Redis)
    persistence: str | None = None
    error: str | None = None  # the error's class name: its message may name the host
    notes: list[str] = field(default_factory=list)


def probe(uri: str, timeout: float) -> Probe:
    """Connect to ``uri`` as the app would, time a few PINGs, read the eviction policy."""
    result = Probe()
    client = None
    try:
        client = redis_client(uri, timeout)
        node = _one_node(client)
        node.ping()  # connects (and authenticates)
        timings = []
        for _ in range(PROBE_ROUND_TRIPS):
            start = time.perf_counter()
            node.ping()
            timings.append((time.perf_counter() - start) * 1000)
        result.latency_ms = statistics.median(timings)
        result.version = str(node.info("server").get("redis_version", "?"))
    except Exception as error:  # any driver error: it did not answer as it must
        result.error = type(error).__name__
        return result
    else:
        _read_config(node, result)
        return result
    finally:
        if client is not None:
            client.close()


def _one_node(client: Any) -> Any:
    """The client itself, or for a cluster the client of one of its nodes."""
    get_node = getattr(client, "get_default_node", None)
    if get_node is None:
        return client
    return client.get_redis_connection(get_node())


def _read_config(node: Any, result: Probe) -> None:
    try:
        config = node.config_get("maxmemory*")
        persistence = node.config_get("save") | node.config_get("appendonly")
    except Exception:  # CONFIG renamed or refused: say so, go on
        result.notes.append("CONFIG GET is not allowed, so its eviction policy is unknown")
        return
    result.policy = _text(config.get("maxmemory-policy"))
    result.maxmemory = int(_text(config.get("maxmemory")) or 0)
    save = _text(persistence.get("save"))
    aof = _text(persistence.get("appendonly")) == "yes"
    result.persistence = ("AOF" if aof else "") + (" + " if aof and save else "") + (
        f"RDB ({save})" if save else "") or "none"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)
