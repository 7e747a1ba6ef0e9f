"""The ``oauth`` rows: access tokens signed RS256, ES256 and EdDSA, against the decorator people
write with PyJWT and its ``PyJWKClient``, and Authlib's ``ResourceProtector`` with its RFC 9068
``JWTBearerTokenValidator``; then the DPoP rows (RFC 9449): one ES256 token bound to a client
key (``cnf.jkt``) with a new ES256 or EdDSA proof per request, against the same token unbound,
as Bearer, to the same app. A proof is accepted once, so as many are made when the case is
built as the run sends (``new_tokens``: the warm-up and the requests), for
``http://localhost/tool``, the test client's URI; minting happens in both processes
``benchmarks.instructions`` subtracts, so only checking them is counted.

Every side is given the same JWK Set up front (``oauth`` as a static ``jwks``, ``PyJWKClient``
through a ``fetch_data`` that returns it: its own cache then holds the parsed set; Authlib's
``get_jwks`` returning a ``joserfc`` ``KeySet`` imported once, the form its documentation asks
for), so no row measures a network fetch, and no fetching thread runs while callgrind counts.
The tokens carry what RFC 9068 section 2.2 requires (``typ: at+jwt``, ``iat``, ``jti``,
``client_id``), which Authlib insists on. Token pools are minted when a case is built (shared
by every side of one algorithm), before any timing, and only for the cases a run selects.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import jwt
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import Flask, g, jsonify, request
from joserfc.jwk import KeySet
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.client import DPoPKey

from .apps import TOKEN_LIFETIME, Case, Headers, View, bare, tool_view

ISSUER: Final = "https://id.bench.example"
RESOURCE: Final = "https://tools.bench.example"
ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")
_KID: Final = "bench-1"


def _new_key(alg: str) -> Any:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def _private_key(alg: str) -> Any:
    """The run's key, kept in a file: generating an RSA key costs a random number of
    instructions (its prime search), which would swamp the per-request difference
    ``benchmarks.instructions`` takes between two processes; loading one costs the same each
    time. A benchmark key signs only benchmark tokens."""
    path = Path(tempfile.gettempdir()) / f"otcauth-bench-{alg.lower()}-{os.getuid()}.pem"
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError):
        pass
    key = _new_key(alg)
    written = path.with_suffix(f".{os.getpid()}.tmp")
    written.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    written.chmod(0o600)
    os.replace(written, path)  # atomic: a process running beside this one reads all or nothing
    return key


@functools.cache
def _jwks(alg: str) -> dict[str, Any]:
    public = _private_key(alg).public_key()
    if alg == "RS256":
        member = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif alg == "ES256":
        member = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        member = OKPAlgorithm.to_jwk(public, as_dict=True)
    return {"keys": [{**member, "kid": _KID, "use": "sig", "alg": alg}]}


def _token(alg: str, index: int, **extra: Any) -> str:
    issued = int(time.time())
    claims = {"iss": ISSUER, "aud": RESOURCE, "sub": "agent-1", "client_id": "agent-platform",
              "jti": str(index), "scope": "tools:list", "iat": issued,
              "exp": issued + TOKEN_LIFETIME, **extra}
    return jwt.encode(claims, _private_key(alg), algorithm=alg,
                      headers={"kid": _KID, "typ": "at+jwt"})


def bound_token(alg: str, jkt: str | None) -> str:
    """A token bound to the DPoP key of thumbprint ``jkt`` (RFC 9449 section 6.1), or, with
    ``None``, the same token unbound."""
    return _token(alg, 0) if jkt is None else _token(alg, 0, cnf={"jkt": jkt})


class OAuthTokens:
    """``size`` distinct tokens of one algorithm, minted by :meth:`mint` (once, at build)."""

    def __init__(self, alg: str, size: int) -> None:
        self.alg, self.size = alg, size
        self._tokens: list[str] = []

    def mint(self) -> None:
        if not self._tokens:
            self._tokens = [_token(self.alg, index) for index in range(self.size)]

    def headers(self, index: int) -> Headers:
        return {"Authorization": "Bearer " + self._tokens[index % len(self._tokens)]}


def otcauth_oauth(alg: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        OTC_AUTH_METHODS=["oauth"], OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
        OTC_AUTH_OAUTH_ISSUERS=[{"issuer": ISSUER, "jwks": _jwks(alg), "algorithms": [alg]}],
        OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
        OTC_AUTH_REQUIRE_HTTPS=False)
    OTCAuth(app)
    app.add_url_rule("/tool", view_func=require_auth(tool_view))
    return app


class _GivenKeys(jwt.PyJWKClient):
    """A ``PyJWKClient`` whose endpoint answers with the given set, without a socket."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        super().__init__("https://id.bench.example/jwks")
        self._given = jwks

    def fetch_data(self) -> Any:
        return self._given


def handwritten_pyjwkclient(alg: str) -> Flask:
    """The decorator people write: ``PyJWKClient`` for the key, ``jwt.decode`` for the rest."""
    app = Flask(__name__)
    keys = _GivenKeys(_jwks(alg))

    def check(view: View) -> View:
        @functools.wraps(view)
        def guarded() -> Any:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            try:
                key = keys.get_signing_key_from_jwt(token)
                claims = jwt.decode(token, key, algorithms=[alg], audience=RESOURCE,
                                    issuer=ISSUER, options={"require": ["exp"]})
            except jwt.PyJWTError:
                return jsonify(error="invalid_token"), 401
            g.bench_sub = claims["sub"]
            return view()
        return guarded

    app.add_url_rule("/tool", view_func=check(tool_view))
    return app


class _GivenKeySet(JWTBearerTokenValidator):  # type: ignore[misc]  # Authlib has no types
    """Authlib's RFC 9068 validator; ``get_jwks`` is the one method it leaves to the user."""

    def __init__(self, jwks: Any) -> None:
        super().__init__(issuer=ISSUER, resource_server=RESOURCE)
        self._keys: KeySet = KeySet.import_key_set(jwks)

    def get_jwks(self) -> KeySet:
        return self._keys


def authlib_resource_protector(alg: str) -> Flask:
    """Authlib's documented resource server: a ``ResourceProtector`` decorating the view."""
    app = Flask(__name__)
    protector = ResourceProtector()
    protector.register_token_validator(_GivenKeySet(_jwks(alg)))
    app.add_url_rule("/tool", view_func=protector()(tool_view))
    return app


def _built(build: Callable[[], Flask], *pools: OAuthTokens | Proofs | Unbound
           ) -> Callable[[], Flask]:
    def minted_then_built() -> Flask:
        for pool in pools:
            pool.mint()
        return build()
    return minted_then_built


_DPOP_ALG: Final = "ES256"
_URL: Final = "http://localhost/tool"


def dpop_app() -> Flask:
    """The ``oauth`` app of the ES256 rows, with DPoP accepted beside Bearer."""
    app = Flask(__name__)
    app.config.update(
        OTC_AUTH_METHODS=["oauth"], OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
        OTC_AUTH_OAUTH_ISSUERS=[{"issuer": ISSUER, "jwks": _jwks(_DPOP_ALG),
                                 "algorithms": [_DPOP_ALG]}],
        OTC_AUTH_DPOP="accepted", OTC_AUTH_RATELIMIT=None, OTC_AUTH_FAILURE_RATELIMIT=None,
        OTC_AUTH_REQUIRE_HTTPS=False)
    OTCAuth(app)
    app.add_url_rule("/tool", view_func=require_auth(tool_view))
    return app


class Proofs:
    """One bound token and ``size`` proofs of one client key, made by :meth:`mint`."""

    def __init__(self, proof_alg: str, size: int) -> None:
        self.proof_alg, self.size = proof_alg, size
        self._token = ""
        self._proofs: list[str] = []

    def mint(self) -> None:
        if not self._proofs:
            key = DPoPKey.generate(self.proof_alg)
            self._token = bound_token(_DPOP_ALG, key.thumbprint)
            self._proofs = [key.proof("GET", _URL, access_token=self._token)
                            for _ in range(self.size)]

    def headers(self, index: int) -> Headers:
        return {"Authorization": "DPoP " + self._token, "DPoP": self._proofs[index]}


class Unbound:
    """The same token without ``cnf``, as Bearer."""

    def __init__(self) -> None:
        self._headers: Headers = {}

    def mint(self) -> None:
        if not self._headers:
            self._headers = {"Authorization": "Bearer " + bound_token(_DPOP_ALG, None)}

    def headers(self, index: int) -> Headers:
        return self._headers


def dpop_cases(new_tokens: int) -> Iterator[Case]:
    """The bearer row of the DPoP app, then the DPoP rows with ES256 and EdDSA proofs."""
    bearer = Unbound()
    yield Case(f"OAuth {_DPOP_ALG} as Bearer, DPoP accepted", _built(dpop_app, bearer),
               bearer.headers)
    for proof_alg in ("ES256", "EdDSA"):
        proofs = Proofs(proof_alg, new_tokens)
        yield Case(f"OAuth {_DPOP_ALG} DPoP-bound, {proof_alg} proof each request",
                   _built(dpop_app, proofs), proofs.headers)


def oauth_cases(new_tokens: int) -> Iterator[Case]:
    """Per algorithm: ``oauth`` with a reused and a new token, then the PyJWT decorator and
    Authlib's resource protector."""
    for alg in ALGORITHMS:
        _private_key(alg)  # every process of a run loads the same key (see _private_key)
        reused, pool = OAuthTokens(alg, 1), OAuthTokens(alg, new_tokens)
        ours = functools.partial(otcauth_oauth, alg)
        theirs = functools.partial(handwritten_pyjwkclient, alg)
        yield Case(f"bare Flask, same {alg} token header", _built(bare, reused),
                   reused.headers, group="reference")  # what receiving the header costs
        yield Case(f"OAuth {alg}, reused token", _built(ours, reused), reused.headers)
        yield Case(f"OAuth {alg}, new token each request", _built(ours, pool), pool.headers)
        yield Case(f"PyJWT + PyJWKClient {alg}, reused token", _built(theirs, reused),
                   reused.headers, group="reference")
        yield Case(f"PyJWT + PyJWKClient {alg}, new token each request", _built(theirs, pool),
                   pool.headers, group="reference")
        if alg == "EdDSA":  # joserfc 1.8, under Authlib, refuses EdDSA (deprecated, RFC 9864)
            continue  # unless told to, and JWTBearerTokenValidator cannot tell it to
        authlib = functools.partial(authlib_resource_protector, alg)
        yield Case(f"Authlib ResourceProtector {alg}, reused token", _built(authlib, reused),
                   reused.headers, group="reference")
        yield Case(f"Authlib ResourceProtector {alg}, new token each request",
                   _built(authlib, pool), pool.headers, group="reference")
    yield from dpop_cases(new_tokens)
