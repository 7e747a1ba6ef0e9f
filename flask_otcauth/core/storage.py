"""Shared state with an expiry: nonces now, revocation lists and caches later; Flask-free.

One small interface, two backends. :class:`MemoryStorage` serves one process (the default);
:class:`RedisStorage` gives every worker and host one view. Keys are namespaced (``otcauth:``,
or ``OTC_AUTH_STORAGE_NAMESPACE`` and a colon) and always carry a TTL, so nothing outlives its
use. A backend that cannot answer raises
:class:`StorageUnavailable`: the caller decides whether to fail closed (nonces do).
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import unquote_plus, urlsplit

from .refusals import OTCAuthConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis

NAMESPACE: Final = "otcauth:"
MEMORY_SCHEMES: Final = ("memory",)
REDIS_SCHEMES: Final = ("redis", "rediss", "redis+unix", "unix")
# A shared store that answers slowly is as bad as one that does not answer: fail fast.
REDIS_TIMEOUT_SECONDS: Final = 2.0
# Query parameters that may carry a credential (password=, sentinel_password=, token=,
# client_secret=, api_key=, sig=, authToken=...): their values are never printed. Matching
# too much only hides a harmless value; matching too little prints a secret.
_SECRET_PARAMETER: Final = re.compile(r"pass|pwd|secret|token|key|sig|auth|cred", re.IGNORECASE)


class StorageUnavailable(Exception):  # noqa: N818 - a state of the world, like ConnectionError
    """The storage backend did not answer; never carries the URI (it may hold a password)."""


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
    """Storage in Redis (redis-py): ``SET NX EX`` makes the claim atomic across processes."""

    def __init__(self, client: redis.Redis, *, namespace: str = NAMESPACE) -> None:
        import redis as redis_module  # noqa: PLC0415 - optional dependency

        self._client = client
        self._errors = (redis_module.RedisError, OSError)
        self._namespace = namespace

    @classmethod
    def from_uri(cls, uri: str, *, namespace: str = NAMESPACE) -> RedisStorage:
        import redis  # noqa: PLC0415 - optional dependency

        if uri.startswith("redis+unix://"):
            uri = "unix://" + uri.removeprefix("redis+unix://")  # limits' spelling of it
        return cls(redis.Redis.from_url(uri, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                        socket_connect_timeout=REDIS_TIMEOUT_SECONDS),
                   namespace=namespace)

    def set_if_absent(self, key: str, ttl: int) -> bool:
        try:
            return bool(self._client.set(self._namespace + key, b"1", nx=True, ex=ttl))
        except self._errors:
            raise StorageUnavailable("the Redis storage did not answer") from None

    def set(self, key: str, value: str, ttl: int) -> None:
        try:
            self._client.set(self._namespace + key, value.encode(), ex=ttl)
        except self._errors:
            raise StorageUnavailable("the Redis storage did not answer") from None

    def get(self, key: str) -> str | None:
        try:
            value = self._client.get(self._namespace + key)
        except self._errors:
            raise StorageUnavailable("the Redis storage did not answer") from None
        return None if value is None else bytes(value).decode()  # type: ignore[arg-type]

    def delete(self, key: str) -> None:
        try:
            self._client.delete(self._namespace + key)
        except self._errors:
            raise StorageUnavailable("the Redis storage did not answer") from None


def open_storage(uri: str, *, setting: str = "OTC_AUTH_STORAGE_URI",
                 namespace: str = NAMESPACE) -> Storage:
    """The backend a URI names, its keys prefixed with ``namespace`` (``"otcauth:"``), or
    :class:`OTCAuthConfigError` naming ``setting``."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme in MEMORY_SCHEMES:
        return MemoryStorage(namespace=namespace)
    if scheme in REDIS_SCHEMES:
        try:
            return RedisStorage.from_uri(uri, namespace=namespace)
        except ImportError:
            raise OTCAuthConfigError(f"{setting} names Redis, but redis-py is not installed: "
                                     "pip install 'flask-otcauth[redis]'.") from None
        except ValueError:
            raise OTCAuthConfigError(f"{setting} is not a valid Redis URI (redis://host:port/db)."
                                     ) from None
    raise OTCAuthConfigError(
        f'{setting} names a "{scheme}" storage; shared state supports "memory://" and '
        '"redis://host:port/db" (also rediss:// and redis+unix://). Set OTC_AUTH_STORAGE_URI.')


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
