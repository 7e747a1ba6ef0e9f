"""Shared state with an expiry: nonces now, revocation lists and caches later; Flask-free.

One small interface, two backends. :class:`MemoryStorage` serves one process (the default);
:class:`RedisStorage` gives every worker and host one view, on a plain Redis, Sentinel or a
Cluster. Keys are namespaced (``otcauth:``, or ``OTC_AUTH_STORAGE_NAMESPACE`` and a colon)
and carry a TTL, so nothing outlives its use; the one exception is the nonce set, see
:meth:`RedisStorage.spend_nonce`. A backend that cannot answer raises
:class:`StorageUnavailable`: the caller decides whether to fail closed (nonces do).
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import unquote_plus

from .circuit import Circuit, server_address
from .counter_scripts import SPEND_SCRIPT, spend_in_memory
from .redis_clients import (
    CLUSTER_SCHEMES,
    DEFAULT_TIMEOUT_SECONDS,
    REDIS_SCHEMES,
    redis_client,
    scheme_of,
)
from .refusals import OTCAuthConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

NAMESPACE: Final = "otcauth:"
MEMORY_SCHEMES: Final = ("memory",)
NONCE_SET: Final = "{hmac-nonces}"  # a hash tag: one slot in a cluster, whatever the prefix
# Query parameters that may carry a credential (password=, sentinel_password=, token=,
# client_secret=, api_key=, sig=, authToken=...): their values are never printed. Matching
# too much only hides a harmless value; matching too little prints a secret.
_SECRET_PARAMETER: Final = re.compile(r"pass|pwd|secret|token|key|sig|auth|cred", re.IGNORECASE)
# KEYS[1]: the nonce set, a sorted set without expiry: each spent nonce scored with the time it
# may be forgotten, and one marker scored +inf, "epoch:<since>:<run id>": since when this set
# has seen every nonce spent. ARGV: nonce, now, forget at, valid from (the earliest moment the
# signature could have been used). Returns {1 spent now | 0 spent before | 2 cannot tell,
# since}. The marker lives in the set itself: Redis evicts, flushes and loses whole keys, so
# nonces are never lost without their marker. A marker written by another server process
# (a restart that reloaded a snapshot, a replica promoted by a failover) may sit beside
# nonces spent after that snapshot or not yet replicated: it is replaced, as if lost.
_NONCE_SCRIPT: Final = """
local info = redis.pcall('info', 'server')
local run_id = type(info) == 'string' and string.match(info, 'run_id:(%x+)') or '-'
local top = redis.call('zrevrange', KEYS[1], 0, 0, 'withscores')
local since
if top[2] == 'inf' then
  local marked, marked_by = string.match(top[1], '^epoch:([^:]+):(.+)$')
  if marked_by == run_id then
    since = marked
  else
    redis.call('zrem', KEYS[1], top[1])
  end
end
if since == nil then
  since = ARGV[2]
  redis.call('zadd', KEYS[1], 'inf', 'epoch:' .. since .. ':' .. run_id)
end
if tonumber(ARGV[4]) < tonumber(since) then
  return {2, since}
end
redis.call('zremrangebyscore', KEYS[1], '-inf', '(' .. ARGV[2])
return {redis.call('zadd', KEYS[1], 'NX', ARGV[3], ARGV[1]), since}
"""


class StorageUnavailable(Exception):  # noqa: N818 - a state of the world, like ConnectionError
    """The storage backend did not answer; never carries the URI (it may hold a password)."""


class StorageForgot(StorageUnavailable):
    """The nonce store cannot vouch for the time asked about: it lost its memory (a restart,
    a flush, an eviction, a failover) after it. ``remembers_since`` is when it began anew."""

    def __init__(self, remembers_since: float) -> None:
        super().__init__("the nonce store lost its memory after the time asked about")
        self.remembers_since = remembers_since


class Storage(Protocol):
    """What shared state needs: atomic claim, plain set/get, delete; every value expires."""

    def set_if_absent(self, key: str, ttl: int) -> bool:
        """Claim ``key`` for ``ttl`` seconds; ``True`` only for the one caller that claimed it."""

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any value."""

    def get(self, key: str) -> str | None:
        """The live value under ``key``, or ``None``."""

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error when absent)."""

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """The live values under ``keys``, in their order, read in one call (one ``MGET``)."""

    def spend_nonce(self, nonce: str, ttl: int, *, valid_from: float, now: float) -> bool:
        """Spend ``nonce`` for ``ttl`` seconds: ``True`` the first time, ``False`` after.

        Raises :class:`StorageForgot` when the store may have forgotten a use since
        ``valid_from`` (a timestamp): it lost its memory after that moment.
        """

    def spend(self, keys: list[str], limits: list[int], cost: int, ttl: int, *,
              check: bool = True) -> tuple[int, list[int]]:
        """Add ``cost`` to every counter of ``keys`` (kept ``ttl`` seconds from their first
        unit) if it fits under each one's limit, in one atomic step; without ``check``, add it
        whatever it overdraws. Returns ``(0 | the 1-based index of the counter it does not
        fit in, the units each counter holds)``."""


class MemoryStorage:
    """One process's storage: a dict with deadlines, swept as it is written to.

    ``clock`` (seconds, only differences matter) is ``time.monotonic`` as it is when the
    storage is made, so a test that sets the process's clock before building an app sets
    this one too.
    """

    def __init__(
        self, *, clock: Callable[[], float] | None = None, namespace: str = NAMESPACE
    ) -> None:
        self._now = clock if clock is not None else time.monotonic
        self._namespace = namespace
        self._values: dict[str, tuple[str, float]] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def set_if_absent(self, key: str, ttl: int) -> bool:
        name, now = self._namespace + key, self._now()
        with self._lock:
            if self._live(name, now) is not None:
                return False
            self._store(name, "1", now + ttl, now)
            return True

    def set(self, key: str, value: str, ttl: int) -> None:
        now = self._now()
        with self._lock:
            self._store(self._namespace + key, value, now + ttl, now)

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(self._namespace + key, self._now())

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(self._namespace + key, None)

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Read without the lock: every request with revocation on asks, and a dictionary
        read of an immutable entry is one step whatever the writers do meanwhile."""
        namespace, now, values = self._namespace, self._now(), self._values
        found: list[str | None] = []
        for key in keys:
            entry = values.get(namespace + key)
            found.append(entry[0] if entry is not None and entry[1] > now else None)
        return found

    def spend_nonce(self, nonce: str, ttl: int, *, valid_from: float, now: float) -> bool:
        """One process's memory: it knows of no earlier process, and says nothing of them."""
        return self.set_if_absent("hmac-nonce:" + nonce, ttl)

    def spend(self, keys: list[str], limits: list[int], cost: int, ttl: int, *,
              check: bool = True) -> tuple[int, list[int]]:
        names, now = [self._namespace + key for key in keys], self._now()
        with self._lock:
            entries = [self._values.get(name) for name in names]
            live = [entry if entry is not None and entry[1] > now else None
                    for entry in entries]

            def store(index: int, units: int) -> None:
                entry = live[index]
                if entry is not None:  # in place: its deadline is in the heap already, once
                    self._values[names[index]] = (str(units), entry[1])
                else:
                    self._store(names[index], str(units), now + ttl, now)

            return spend_in_memory([0 if entry is None else int(entry[0]) for entry in live],
                                   limits, cost, check=check, store=store)

    def __len__(self) -> int:
        """Live and not yet swept entries: lets tests see that expired ones are dropped."""
        return len(self._values)

    def _live(self, name: str, now: float) -> str | None:
        entry = self._values.get(name)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def _store(self, name: str, value: str, deadline: float, now: float) -> None:
        self._sweep(now)
        self._values[name] = (value, deadline)
        heapq.heappush(self._deadlines, (deadline, name))

    def _sweep(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, name = heapq.heappop(self._deadlines)
            entry = self._values.get(name)
            if entry is not None and entry[1] == deadline:
                del self._values[name]


class RedisStorage:
    """Storage in Redis (redis-py): ``SET NX EX`` makes a claim atomic across processes.

    Every call goes through the server's :class:`~.circuit.Circuit`: once Redis failed to
    answer, calls raise :class:`StorageUnavailable` at once, without asking it, until a probe
    (one call per interval) gets an answer.
    """

    def __init__(self, client: Any, *, namespace: str = NAMESPACE,
                 circuit: Circuit | None = None,
                 connect: Callable[[], Any] | None = None) -> None:
        from redis import exceptions  # noqa: PLC0415 - optional dependency

        self._client = client  # None until first use, when made by ``connect`` (a cluster)
        self._connect = connect
        self._connect_lock = threading.Lock()
        self._errors = (exceptions.RedisError, exceptions.RedisClusterException, OSError)
        # An answer, if not the one hoped for (out of memory under noeviction, read-only):
        # the server is there, so its circuit stays closed. A cluster's errors are outages.
        self._answers = exceptions.ResponseError
        self._outages = exceptions.ClusterError
        self._namespace = namespace
        self._circuit = circuit if circuit is not None else Circuit("redis")
        self._nonce_key = namespace + NONCE_SET
        self._nonce_script: Any = (client.register_script(_NONCE_SCRIPT)
                                   if client is not None else None)
        self._spend_script: Any = (client.register_script(SPEND_SCRIPT)
                                   if client is not None else None)

    @classmethod
    def from_uri(cls, uri: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 circuit: Circuit | None = None, namespace: str = NAMESPACE) -> RedisStorage:
        circuit = circuit if circuit is not None else Circuit(server_address(uri))
        if scheme_of(uri) in CLUSTER_SCHEMES:
            # A cluster client reads the slot map as it is made: made on first use, so an
            # app starts while its cluster is down (and answers 503 for nonces meanwhile).
            return cls(None, circuit=circuit, connect=lambda: redis_client(uri, timeout),
                       namespace=namespace)
        return cls(redis_client(uri, timeout), circuit=circuit, namespace=namespace)

    @property
    def client(self) -> Any:
        """The redis-py client (``None`` for a cluster not yet asked): lets the rate limits'
        admit script tell whether it runs on this same database."""
        return self._client

    @property
    def namespace(self) -> str:
        """What every key of this storage starts with in Redis."""
        return self._namespace

    def set_if_absent(self, key: str, ttl: int) -> bool:
        return bool(self._call("set", self._namespace + key, b"1", nx=True, ex=ttl))

    def set(self, key: str, value: str, ttl: int) -> None:
        self._call("set", self._namespace + key, value.encode(), ex=ttl)

    def get(self, key: str) -> str | None:
        value = self._call("get", self._namespace + key)
        return None if value is None else bytes(value).decode()

    def delete(self, key: str) -> None:
        self._call("delete", self._namespace + key)

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        namespace = self._namespace
        values = self._call("mget", [namespace + key for key in keys])
        return [None if value is None else bytes(value).decode() for value in values]

    def spend_nonce(self, nonce: str, ttl: int, *, valid_from: float, now: float) -> bool:
        """One script, one round trip: check the set's memory reaches back to ``valid_from``,
        drop what expired, add ``nonce``.

        A sorted set without expiry holds the nonces, because a key with a TTL is what the
        ``volatile-*`` eviction policies take first (under ``volatile-ttl``, the newest
        nonces); its marker makes any loss of the whole set visible, see ``_NONCE_SCRIPT``.
        """
        outcome, since = self._call("nonce", self._nonce_key, nonce, repr(now),
                                    repr(now + ttl), repr(valid_from))
        if int(outcome) == 2:
            raise StorageForgot(float(since))
        return int(outcome) == 1

    def spend(self, keys: list[str], limits: list[int], cost: int, ttl: int, *,
              check: bool = True) -> tuple[int, list[int]]:
        """One script, one round trip (``counter_scripts.SPEND_SCRIPT``)."""
        namespace = self._namespace
        reply = self._call("spend", [namespace + key for key in keys],
                           [cost, ttl, 1 if check else 0, *limits])
        return int(reply[0]), [int(units) for units in reply[1:]]

    def _call(self, command: str, *args: Any, **options: Any) -> Any:
        circuit = self._circuit
        if circuit.open and not circuit.probe():
            raise StorageUnavailable("the Redis storage did not answer; not asked again yet")
        try:
            client = self._client if self._client is not None else self._connected()
            if command == "nonce":
                result = self._nonce_script(keys=args[:1], args=args[1:])
            elif command == "spend":
                result = self._spend_script(keys=args[0], args=args[1])
            else:
                result = getattr(client, command)(*args, **options)
        except self._errors as error:
            if isinstance(error, self._answers) and not isinstance(error, self._outages):
                if circuit.open:
                    circuit.answered()
                raise StorageUnavailable("the Redis storage refused the command") from None
            circuit.failed(error)
            raise StorageUnavailable("the Redis storage did not answer") from None
        if circuit.open:
            circuit.answered()
        return result

    def _connected(self) -> Any:
        with self._connect_lock:
            if self._client is None and self._connect is not None:
                client = self._connect()
                self._nonce_script = client.register_script(_NONCE_SCRIPT)
                self._spend_script = client.register_script(SPEND_SCRIPT)
                self._client = client
        return self._client


def key_part(value: str) -> str:
    """A name inside a storage key, its length first: ``a:b`` + ``c`` never reads as
    ``a`` + ``b:c``, so no caller's name can forge another caller's key."""
    return f"{len(value)}:{value}"


def open_storage(uri: str, *, setting: str = "OTC_AUTH_STORAGE_URI",
                 timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 circuit: Circuit | None = None,
                 namespace: str = NAMESPACE) -> Storage:
    """The backend a URI names, its keys prefixed with ``namespace`` (``"otcauth:"``), or
    :class:`OTCAuthConfigError` naming ``setting``.

    A Redis backend waits at most ``timeout`` for an answer, and shares ``circuit`` (made for
    its server when not given) with whatever else talks to that server.
    """
    scheme = scheme_of(uri)
    if scheme in MEMORY_SCHEMES:
        return MemoryStorage(namespace=namespace)
    if scheme in REDIS_SCHEMES:
        try:
            import redis  # noqa: F401, PLC0415 - optional dependency: say so before limits does
        except ImportError:
            raise OTCAuthConfigError(f"{setting} names Redis, but redis-py is not installed: "
                                     "pip install 'flask-otcauth[redis]'.") from None
        try:
            return RedisStorage.from_uri(uri, timeout=timeout, circuit=circuit,
                                         namespace=namespace)
        except Exception:  # redis-py's, or limits', refusal of the URI
            raise OTCAuthConfigError(
                f"{setting} is not a valid Redis URI (redis://host:port/db, "
                "redis+sentinel://host:port,host:port/service or "
                "redis+cluster://host:port,host:port).") from None
    raise OTCAuthConfigError(
        f'{setting} names a "{scheme}" storage; shared state supports "memory://" and '
        '"redis://host:port/db" (also rediss://, redis+unix://, redis+sentinel:// and '
        "redis+cluster://). Set OTC_AUTH_STORAGE_URI.")


def masked_uri(uri: str) -> str:
    """``uri`` with the password of its userinfo and the values of credential-like query
    parameters replaced by ``***``; everything else as written (it is the operator's own text)."""
    rest, hash_mark, fragment = uri.partition("#")
    rest, question_mark, query = rest.partition("?")
    scheme, separator, after = rest.partition("://")
    netloc, slash, path = after.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    if query:
        query = "&".join(_masked_parameter(parameter) for parameter in query.split("&"))
    return (scheme + separator + userinfo + at + host + slash + path + question_mark + query
            + hash_mark + fragment)


def _masked_parameter(parameter: str) -> str:
    name, equals, _value = parameter.partition("=")
    if equals and _SECRET_PARAMETER.search(unquote_plus(name)):
        return f"{name}=***"
    return parameter
