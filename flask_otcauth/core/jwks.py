"""The key client of the ``oauth`` method: an issuer's published keys, fetched and kept; Flask-free.

The peers get this part wrong in both directions: refetching on every unknown ``kid`` lets any
caller make the server hammer the identity provider, never refetching locks everyone out for
an hour after a rotation, and dropping the keys when a fetch fails turns a provider's outage
into ours. Here, per issuer and per process (each worker fetches on its own; nothing is shared
between workers):

- the keys are kept for ``ttl`` seconds, or the response's ``Cache-Control: max-age`` clamped
  to ``[cooldown, 86400]`` (``no-store``/``no-cache``: the cooldown);
- a ``kid`` the set lacks refetches at most once per ``cooldown``, however many requests carry
  unknown ``kid``s; a failed fetch is not retried within the cooldown either;
- one fetch is in flight per issuer; the others wait for it up to ``timeout`` seconds;
- when a fetch fails, the last good keys keep serving up to ``max_stale`` seconds after they
  were fetched, with a WARNING and the :data:`~.audit.keys_stale` signal; past it, no key
  verifies anything (401: fail closed);
- https only (http for loopback hosts), no redirects, at most :data:`MAX_DOCUMENT_BYTES`.

Keys are parsed by PyJWT's :class:`jwt.PyJWK`; a member it cannot use, of an unknown ``kty``,
for encryption (``use: enc``) or an RSA key under 2048 bits is skipped, and a set holding any
private member is refused whole.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from jwt import PyJWK, PyJWTError

from .audit import keys_stale

logger = logging.getLogger("flask_otcauth")
MAX_DOCUMENT_BYTES: Final = 64 * 1024
MAX_CACHE_SECONDS: Final = 86400
MIN_RSA_BITS: Final = 2048
REFRESH_AT: Final = 0.8  # of the keys' lifetime: when the background refresh fetches
USABLE_KTY: Final = frozenset({"RSA", "EC", "OKP"})
PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_AGE: Final = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.I)
_NO_CACHE: Final = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.I)


class FetchError(Exception):
    """A document could not be fetched or is not what was expected; the message says why and
    never quotes the document."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: object) -> str | None:
    """Why ``url`` may not be fetched (or published), or ``None``: https, or http on loopback."""
    if not isinstance(url, str) or not url:
        return "must be a non-empty string"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing is the check
    except ValueError:
        return "is not a URL"
    if not parts.hostname or parts.username is not None or parts.fragment:
        return "must be an absolute URL with a host, no user information and no fragment"
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
        return None
    return "must be https:// (http:// only for a loopback host)"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str,  # noqa: PLR0917
                         headers: Any, newurl: str) -> None:
        raise FetchError(f"the server answered {code}, a redirect, which is never followed")


OPENER: Final = urllib.request.build_opener(_NoRedirect)
"""The one opener of every fetch and introspection request: it follows no redirect."""


@dataclass(frozen=True, slots=True)
class Document:
    body: Mapping[str, Any]
    max_age: int | None  # from Cache-Control; 0 for no-store / no-cache


def fetch_json(url: str, timeout: float) -> Document:
    """GET ``url`` as a JSON object, refusing redirects, more than 64 KiB and other schemes."""
    problem = url_problem(url)
    if problem is not None:
        raise FetchError(f"the URL {problem}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    body, cache_control = json_object(request, timeout)
    match = _MAX_AGE.search(cache_control)
    max_age = 0 if _NO_CACHE.search(cache_control) else (
        int(match.group(1)) if match else None)
    return Document(body, max_age)


def json_object(request: urllib.request.Request, timeout: float) -> tuple[dict[str, Any], str]:
    """The JSON object a request answers, and its Cache-Control; the one way this package
    reads an authorization server (keys, discovery, introspection): no redirect, at most
    64 KiB, :class:`FetchError` saying what went wrong (never the body)."""
    try:
        with OPENER.open(request, timeout=timeout) as response:
            raw = response.read(MAX_DOCUMENT_BYTES + 1)
            cache_control = response.headers.get("Cache-Control") or ""
    except FetchError:
        raise
    except urllib.error.HTTPError as error:
        raise FetchError(f"the server answered {error.code}") from None
    except (OSError, ValueError) as error:
        raise FetchError(f"the request failed ({type(error).__name__})") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise FetchError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FetchError("the document is not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise FetchError("the document is not a JSON object")
    return body, cache_control


@dataclass(frozen=True, slots=True)
class UsableKey:
    """A parsed public key and what the token's ``alg`` must agree with."""

    jwk: PyJWK
    kty: str
    crv: str | None
    alg: str | None  # the JWK's own alg, when it names one
    kid: str | None


@dataclass(frozen=True, slots=True)
class KeySet:
    """The usable keys of one JWK Set: by ``kid``, and all of them."""

    by_kid: Mapping[str, UsableKey]
    usable: tuple[UsableKey, ...]
    skipped: int


def parse_key_set(document: Mapping[str, Any], where: str) -> KeySet:
    """The usable keys of a JWK Set (RFC 7517 section 5), or :class:`FetchError`."""
    members = document.get("keys")
    if not isinstance(members, list):
        raise FetchError(f"{where} is no JWK Set (no keys list)")
    if any(isinstance(member, dict) and PRIVATE_MEMBERS & member.keys() for member in members):
        logger.warning("The JWK Set of %s holds private or symmetric key material: refused "
                       "whole. Publish public keys only, and rotate the exposed ones.", where)
        raise FetchError(f"{where} holds private key members")
    by_kid: dict[str, UsableKey] = {}
    usable: list[UsableKey] = []
    skipped = 0
    for member in members:
        key = usable_key(member)
        if key is None:
            skipped += 1
            continue
        usable.append(key)
        if key.kid is not None:
            by_kid.setdefault(key.kid, key)
    return KeySet(by_kid, tuple(usable), skipped)


def usable_key(member: object) -> UsableKey | None:
    """The member as a key to verify with, or ``None`` when it is skipped."""
    if not isinstance(member, dict) or member.get("kty") not in USABLE_KTY:
        return None
    if member.get("use", "sig") != "sig" or ("kid" in member and type(member["kid"]) is not str):
        return None
    try:
        key = PyJWK(member)
    except (PyJWTError, ValueError, TypeError):
        return None
    if member["kty"] == "RSA" and getattr(key.key, "key_size", 0) < MIN_RSA_BITS:
        return None
    alg, crv = member.get("alg"), member.get("crv")
    return UsableKey(key, member["kty"], crv if isinstance(crv, str) else None,
                     alg if isinstance(alg, str) else None, member.get("kid"))


class KeysUnavailable(Exception):  # noqa: N818 - a state, reported as a 401
    """No keys can be used: never fetched, or the last good ones are past the maximum age."""


class KeyClient:
    """The keys of one issuer, for every request of one process."""

    def __init__(
        self, issuer: str, *, jwks_uri: str | None, jwks: Mapping[str, Any] | None,
        ttl: int, cooldown: int, max_stale: int, timeout: float,
        fetch: Callable[[str, float], Document] = fetch_json,
    ) -> None:
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self._ttl, self._cooldown = ttl, cooldown
        self._max_stale, self._timeout = max_stale, timeout
        self._fetch = fetch
        self._lock = threading.Lock()
        self._static = jwks is not None
        self.keys: KeySet | None = parse_key_set(jwks, f"the jwks of {issuer}") if jwks else None
        self.fetched_at = 0.0
        self._expires_at = float("inf") if self._static else 0.0
        self._attempted_at: float | None = None
        self._attempts = 0
        self.fetches = 0  # documents requested, discovery included: for check and the tests
        self.last_error: str | None = None  # why the last fetch failed; None after a success

    def key_set(self, now: float, *, unknown_kid: bool = False) -> KeySet:
        """The keys to verify with now; refetched when expired, or for an unknown ``kid`` once
        per cooldown. :class:`KeysUnavailable` when none may be used."""
        keys = self.keys
        if self._static and keys is not None:
            return keys
        if keys is None or now >= self._expires_at or unknown_kid:
            keys = self._refresh(now)
        if keys is None or now - self.fetched_at > self._max_stale:
            raise KeysUnavailable
        return keys

    def _refresh(self, now: float) -> KeySet | None:
        if not self._lock.locked() and not self._may_try(now):
            return self.keys  # within the cooldown, and no fetch to wait for
        attempts = self._attempts
        if not self._lock.acquire(timeout=self._timeout):
            return self.keys  # a fetch is in flight for too long: use what we have
        try:
            if attempts != self._attempts or not self._may_try(now):
                return self.keys  # another thread fetched (or tried) while this one waited
            self._attempted_at = now
            self._attempts += 1
            try:
                url = self._keys_url()
                self.fetches += 1
                document = self._fetch(url, self._timeout)
                keys = parse_key_set(document.body, f"the jwks_uri of {self.issuer}")
            except FetchError as error:
                self.last_error = str(error)
                self._stale(now, str(error))
                return self.keys
            self.keys, self.fetched_at, self.last_error = keys, now, None
            lifetime = self._ttl if document.max_age is None else min(
                max(document.max_age, self._cooldown), MAX_CACHE_SECONDS)
            self._expires_at = now + lifetime
            return keys
        finally:
            self._lock.release()

    def refresh(self, now: float) -> None:
        """Fetch now, whether or not the keys expired, unless the cooldown forbids it: what
        the background refresh and the prefetch at ``init_app`` call."""
        if not self._static:
            self._refresh(now)

    def refresh_due(self) -> float:
        """When the background should refresh: at 80 % of the keys' lifetime, so requests never
        see them expire while the provider answers; a failed fetch is retried once per
        cooldown (never sooner: the cooldown bounds every fetch, whatever asks)."""
        if self._static:
            return float("inf")
        retry = 0.0 if self._attempted_at is None else self._attempted_at + self._cooldown
        if self.keys is None:
            return retry
        return max(self.fetched_at + (self._expires_at - self.fetched_at) * REFRESH_AT, retry)

    def after_fork(self) -> None:
        """In a forked child: a lock a thread of the parent held at the fork is held forever
        here (that thread does not exist in the child), so the child takes a new one."""
        self._lock = threading.Lock()

    def _may_try(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._cooldown

    def _keys_url(self) -> str:
        if self.jwks_uri is None:
            self.jwks_uri = self._discover()
        return self.jwks_uri

    def _discover(self) -> str:
        return discover_jwks_uri(self.issuer, self._timeout, self._counted)

    def _counted(self, url: str, timeout: float) -> Document:
        self.fetches += 1
        return self._fetch(url, timeout)

    def _stale(self, now: float, why: str) -> None:
        age = now - self.fetched_at if self.keys is not None else None
        serving = age is not None and age <= self._max_stale
        logger.warning("Fetching the keys of issuer %s failed (%s); %s.", self.issuer, why,
                       f"serving the keys fetched {int(age)} s ago" if serving and age is not None
                       else "no usable keys: its tokens are refused until a fetch succeeds")
        keys_stale.send(None, issuer=self.issuer, reason=why, age=age, serving=serving)


def discover_jwks_uri(issuer: str, timeout: float,
                      fetch: Callable[[str, float], Document] = fetch_json) -> str:
    """RFC 8414 section 3 (the well-known path inserted before the issuer's path), then
    OpenID Connect Discovery; the document's ``issuer`` must equal ours exactly."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    candidates = (f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server"
                  f"{path}", issuer.rstrip("/") + "/.well-known/openid-configuration")
    problems = []
    for url in candidates:
        try:
            body = fetch(url, timeout).body
        except FetchError as error:
            problems.append(str(error))
            continue
        if body.get("issuer") != issuer:
            problems.append("a metadata document names another issuer")
            continue
        jwks_uri = body.get("jwks_uri")
        problem = url_problem(jwks_uri)
        if problem is not None:
            raise FetchError(f"the metadata's jwks_uri {problem}")
        return str(jwks_uri)
    raise FetchError("discovery failed: " + "; ".join(problems))
