"""The rate limits' Lua script on Redis, and the two ways it is sent; Flask-free.

One script makes each decision that must not be split between processes: "is this address
locked out by failures? if not, spend one of this caller's requests" (admitting a request),
and "is this address locked out? if not, count this failure" (refusing one). Checked, then
counted, in two steps, twenty threads on four workers would all pass the check before any of
them counts: 59 bad keys were answered 401 under a limit of 50. Redis runs a script whole.

Its keys carry a hash tag, the caller's or the address's name in braces, so in a Redis
Cluster all the keys of one call live in one slot (a script may only touch one). An address's
counters and a caller's are in different slots; on a cluster the admit decision is then two
calls (the lock-out check, then the count), each atomic.

Where the revocation entries (``OTC_AUTH_REVOCATION``) live in the same Redis database, the
admit call reads them first: the caller's revocation check costs no round trip of its own.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, Final

# KEYS: the revocation entries to read (r of them), the counters to check (n), then the
# counters to count. ARGV: r, each entry's threshold ('' refuses whatever it holds, else a
# time: an entry above it refuses; revocation.matches is the same rule), n, each checked
# counter's limit, then per counted counter its limit and window in seconds. Returns {0}
# when admitted, else {1 (a checked counter is used up) or 2 (a counted one went over), the
# index of the exhausted limit, the seconds its window still runs}, or {3, the index of the
# matched entry, its value} (nothing counted). Same counters and arithmetic as limits' fixed
# window (INCRBY, EXPIRE on the first hit), so both read each other. Admitting reads the
# caller's revocation entries, checks the failure counters and counts the caller's:
# revocation and limits in one round trip; recording a failure checks and counts the same
# failure counters (r = 0).
ADMIT_SCRIPT: Final = """
local looked = tonumber(ARGV[1])
for i = 1, looked do
  local value = redis.call('get', KEYS[i])
  if value and (ARGV[1 + i] == '' or tonumber(value) > tonumber(ARGV[1 + i])) then
    return {3, i, value}
  end
end
local base = 1 + looked
local checked = tonumber(ARGV[base + 1])
for i = 1, checked do
  local key = KEYS[looked + i]
  local used = tonumber(redis.call('get', key) or '0')
  if used >= tonumber(ARGV[base + 1 + i]) then
    return {1, i, redis.call('ttl', key)}
  end
end
local argument = base + 2 + checked
for i = looked + checked + 1, #KEYS do
  local current = redis.call('incrby', KEYS[i], 1)
  if current == 1 then
    redis.call('expire', KEYS[i], ARGV[argument + 1])
  end
  if current > tonumber(ARGV[argument]) then
    return {2, i - looked - checked, redis.call('ttl', KEYS[i])}
  end
  argument = argument + 2
end
return {0, 0, 0}
"""


def tagged(name: str) -> str:
    """``name`` as a hash tag: every key built from it hashes to one cluster slot."""
    return "{" + name + "}"


class ConnectionScript:
    """The script, sent over one connection per thread of redis-py's own ``Connection``.

    redis-py's client wraps every command in a pool checkout, retries, events and metrics:
    38 us of Python around a 26 us round trip on the development machine, paid by every
    accepted request. The connection alone still connects, authenticates, selects the database
    and parses replies (hiredis) as the client would, and to a Sentinel's current master; an
    error drops the connection. A dropped connection (a restarted Redis, a demoted master) is
    retried once, on a new connection; a timeout is not.

    ``timeout``: the connect and socket timeout of the connections, when the pool's own are
    not ours (a Flask-Limiter's storage, made with redis-py's defaults).
    """

    def __init__(self, client: Any, timeout: float | None = None) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: PLC0415
        from redis.exceptions import NoScriptError  # noqa: PLC0415 - the redis extra

        self._no_script = NoScriptError
        self._dropped = RedisConnectionError
        self._pool = client.connection_pool
        self._timeout = timeout
        self._sha = hashlib.sha1(ADMIT_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis' name
        self._local = threading.local()

    def __call__(self, keys: tuple[str, ...], args: list[Any]) -> Any:
        try:
            return self._send(keys, args)
        except self._dropped:
            return self._send(keys, args)  # on a new connection, to the server as it is now

    def reaches(self, client: Any) -> bool:
        """Whether ``client`` (a redis-py client, or ``None``) talks to the server and database
        this script runs on, so that one call may read its keys too. Only a direct connection
        (TCP, TLS or a Unix socket) is compared: a Sentinel's pool names no address."""
        pool = getattr(client, "connection_pool", None)
        mine = self._pool
        if pool is None or type(pool) is not type(mine) or (
                pool.connection_class is not mine.connection_class):
            return False
        ours, theirs = mine.connection_kwargs, pool.connection_kwargs
        if ours.get("host") is None and ours.get("path") is None:
            return False
        return all(ours.get(name) == theirs.get(name)
                   for name in ("host", "port", "path", "db", "username"))

    def _send(self, keys: tuple[str, ...], args: list[Any]) -> Any:
        owner, connection = getattr(self._local, "connection", (None, None))
        if owner != os.getpid() or connection is None:  # none in this thread, or a fork's
            connection = self._pool.make_connection()
            if self._timeout is not None:
                connection.socket_timeout = self._timeout
                connection.socket_connect_timeout = self._timeout
            # As the pool does: a Sentinel's connection asks for the master here, and only
            # here (sending on an unconnected one would go to redis-py's default address).
            connection.connect()
            self._local.connection = (os.getpid(), connection)
        try:
            try:
                connection.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
                return connection.read_response()
            except self._no_script:  # a restarted Redis: EVAL runs the script and caches it
                connection.send_command("EVAL", ADMIT_SCRIPT, len(keys), *keys, *args)
                return connection.read_response()
        except BaseException:
            connection.disconnect()
            self._local.connection = (None, None)
            raise


class ClusterScript:
    """The script through a ``RedisCluster`` client, which sends it to the node of its keys'
    slot and follows the cluster's redirections."""

    def __init__(self, client: Any) -> None:
        self._script = client.register_script(ADMIT_SCRIPT)

    def __call__(self, keys: tuple[str, ...], args: list[Any]) -> Any:
        return self._script(keys=keys, args=args)

    def reaches(self, client: Any) -> bool:
        """Never: a cluster keeps the revocation entries in a slot of their own."""
        return False
