"""Token introspection (RFC 7662) for opaque access tokens, the ``oauth`` method's second way in.

A token that is not a JWT of a configured issuer cannot be checked locally: its authorization
server is asked. The answer is held to what a local check would demand (``active``, ``exp`` in
the future, ``aud`` naming this resource, ``iss`` a configured issuer, a ``Bearer`` or ``DPoP``
token type, well-formed ``scope`` and ``client_id``), and only a positive answer is remembered:
in the app's shared storage (memory or Redis), under the token's SHA-256 (never the token), for at
most ``min(cache_ttl, exp - now)`` seconds, so a revoked token is refused again within
``cache_ttl`` and a negative answer is asked again each time. An endpoint that does not answer
is a 503 ``temporarily_unavailable`` with ``Retry-After``, never an acceptance. The client
authenticates with its secret in the ``Authorization`` header (``client_secret_basic``, RFC 6749
section 2.3.1) or with a signed assertion (``private_key_jwt``, :mod:`.client_assertion`);
neither is ever logged, echoed or put in a refusal.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .client_assertion import PrivateKeyJwt, private_key_jwt
from .jwks import FetchError, json_object, url_problem
from .refusals import INVALID_TOKEN, TEMPORARILY_UNAVAILABLE, AuthFailure, OTCAuthConfigError
from .storage import Storage, StorageUnavailable

logger = logging.getLogger("flask_otcauth")
CACHE_PREFIX: Final = "oauth-introspection:"
RETRY_AFTER_SECONDS: Final = 5
MAX_CACHE_TTL: Final = 3600
_ASSERTION_FIELDS: Final = frozenset({"algorithm", "key_id", "assertion_audience"})
_FIELDS: Final = frozenset({"endpoint", "client_id", "client_secret", "private_key",
                            "cache_ttl"}) | _ASSERTION_FIELDS
_REQUIRED: Final = ("endpoint", "client_id")


@dataclass(frozen=True, slots=True)
class IntrospectionConfig:
    """The ``OTC_AUTH_OAUTH_INTROSPECTION`` dict, checked; the secret is kept out of ``repr``."""

    endpoint: str
    client_id: str
    client_secret: str | None = field(repr=False)
    cache_ttl: int = 60
    private_key_jwt: PrivateKeyJwt | None = None


def introspection_config(value: Any, name: str) -> IntrospectionConfig | None:
    """The key's parser: ``None``, or a dict with the endpoint and the client's credentials."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f"{name} must be a dict with endpoint, client_id, "
                                 "client_secret or private_key, and optionally cache_ttl, "
                                 "or None.")
    unknown = sorted(str(key) for key in set(value) - _FIELDS)
    if unknown:
        raise OTCAuthConfigError(f"{name} has unknown field(s) {unknown}; known: "
                                 + ", ".join(sorted(_FIELDS)) + ".")
    for required in _REQUIRED:
        if not isinstance(value.get(required), str) or not value[required]:
            raise OTCAuthConfigError(f"{name}.{required} must be a non-empty string.")
    problem = url_problem(value["endpoint"])
    if problem is not None:
        raise OTCAuthConfigError(f"{name}.endpoint {problem}.")
    if ("client_secret" in value) == ("private_key" in value):
        raise OTCAuthConfigError(
            f"{name} needs exactly one of client_secret (client_secret_basic) and private_key "
            "(private_key_jwt: the path of a PEM file or a private JWK, with algorithm).")
    secret = value.get("client_secret")
    if "client_secret" in value and (not isinstance(secret, str) or not secret):
        raise OTCAuthConfigError(f"{name}.client_secret must be a non-empty string.")
    stray = sorted(_ASSERTION_FIELDS & set(value)) if secret is not None else []
    if stray:
        raise OTCAuthConfigError(f"{name} gives {stray} with client_secret: they are for "
                                 "private_key only.")
    cache_ttl = value.get("cache_ttl", 60)
    if type(cache_ttl) is not int or not 0 <= cache_ttl <= MAX_CACHE_TTL:
        raise OTCAuthConfigError(f"{name}.cache_ttl must be a whole number of seconds in "
                                 f"0-{MAX_CACHE_TTL} (0: never cache).")
    assertion = None if secret is not None else private_key_jwt(value, name, value["endpoint"])
    return IntrospectionConfig(value["endpoint"], value["client_id"], secret, cache_ttl,
                               assertion)


def _refusal(hint: str) -> AuthFailure:
    return INVALID_TOKEN.failure(hint, method="oauth")


def _unavailable(why: str) -> AuthFailure:
    logger.warning("The introspection endpoint did not answer (%s): opaque tokens get 503.",
                   why)
    return TEMPORARILY_UNAVAILABLE.failure(
        "The authorization server's introspection endpoint did not answer, so the token could "
        "not be checked; the request was not accepted. Retry later.",
        method="oauth", retry_after=RETRY_AFTER_SECONDS)


class Introspector:
    """Asks one introspection endpoint about tokens, remembering the active answers.

    ``audiences`` are the canonical audiences a token's ``aud`` must name one of; ``issuers``
    the configured issuers an ``iss`` (optional in RFC 7662) must be one of; ``canonical``
    folds an audience as the local check does.
    """

    def __init__(self, config: IntrospectionConfig, *, storage: Storage,
                 audiences: frozenset[str], issuers: frozenset[str], timeout: float,
                 canonical: Any) -> None:
        self.endpoint = config.endpoint
        self.cache_ttl = config.cache_ttl
        self._storage = storage
        self._audiences, self._issuers = audiences, issuers
        self._timeout = timeout
        self._canonical = canonical
        self._assertion = config.private_key_jwt
        self._headers = {"Accept": "application/json",
                         "Content-Type": "application/x-www-form-urlencoded"}
        if config.client_secret is not None:
            credentials = (f"{urllib.parse.quote(config.client_id, safe='')}:"
                           f"{urllib.parse.quote(config.client_secret, safe='')}")
            self._headers["Authorization"] = "Basic " + base64.b64encode(
                credentials.encode()).decode()
        self.calls = 0  # requests sent to the endpoint: for the tests

    def claims(self, token: str, now: float) -> dict[str, Any]:
        """The checked introspection answer for ``token``, or :class:`AuthFailure`."""
        cache_key = CACHE_PREFIX + hashlib.sha256(token.encode()).hexdigest()
        cached = self._cached(cache_key)
        if cached is not None and int(cached.get("exp", 0)) > now:
            return cached
        answer = self._ask(token, now)
        self._check(answer, now)
        ttl = min(self.cache_ttl, int(answer["exp"] - now))
        if ttl >= 1:
            with contextlib.suppress(StorageUnavailable):  # then asked again: slower, not wrong
                self._storage.set(cache_key, json.dumps(answer), ttl)
        return answer

    def _cached(self, cache_key: str) -> dict[str, Any] | None:
        try:
            raw = self._storage.get(cache_key)
        except StorageUnavailable:
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _ask(self, token: str, now: float) -> dict[str, Any]:
        form = {"token": token, "token_type_hint": "access_token"}
        if self._assertion is not None:
            form.update(self._assertion.form(now))
        request = urllib.request.Request(  # noqa: S310 - url_problem allowed https or loopback
            self.endpoint, data=urllib.parse.urlencode(form).encode(), method="POST",
            headers=self._headers)
        self.calls += 1
        try:
            answer, _ = json_object(request, self._timeout)
        except FetchError as error:
            raise _unavailable(str(error)) from None
        return answer

    def _check(self, answer: Mapping[str, Any], now: float) -> None:
        """RFC 7662 section 2.2, held to what this server demands of a local token."""
        if answer.get("active") is not True:
            raise _refusal("The authorization server says the token is not active (expired, "
                           "revoked or never issued): get a new one.")
        exp = answer.get("exp")
        if type(exp) is not int or exp <= now:
            raise _refusal("The introspected token has no exp, or it has passed.")
        issuer = answer.get("iss")
        if issuer is not None and issuer not in self._issuers:
            raise _refusal("The introspected token's iss is not an issuer this server trusts.")
        audience = answer.get("aud")
        values = [audience] if isinstance(audience, str) else audience
        if not isinstance(values, list) or not any(
                isinstance(value, str) and self._canonical(value) in self._audiences
                for value in values):
            raise _refusal("The introspected token's aud does not name this resource server.")
        token_type = answer.get("token_type")
        # RFC 9449 section 6.2: a DPoP-bound token is introspected as token_type "DPoP" (its
        # cnf.jkt then binds it, and the oauth scheme holds it to a proof).
        if token_type is not None and (not isinstance(token_type, str)
                                       or token_type.lower() not in ("bearer", "dpop")):
            raise _refusal("The introspected token is not a Bearer or DPoP access token.")
        for name in ("scope", "client_id", "sub"):
            if name in answer and not isinstance(answer[name], str):
                raise _refusal(f"The introspection answer's {name} is not a string.")
