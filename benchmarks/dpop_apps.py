"""The DPoP rows: one ES256 access token bound to a client key (``cnf.jkt``) with a new proof
per request (ES256 and EdDSA proofs), against the same token unbound, sent as Bearer, to the
same app.

Each request needs a proof of its own (a ``jti`` is accepted once), so the proofs are made when
the case is built, before any counting, as many as the run sends (``new_tokens``, the run's
warm-up plus its requests); minting happens in both processes ``benchmarks.instructions``
subtracts, so only checking them is counted. The proofs name the test client's URI
(``http://localhost/tool``) and the replay store is the app's ``memory://`` one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from flask import Flask

from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.client import DPoPKey

from .apps import Case, Headers, tool_view
from .oauth_apps import ISSUER, RESOURCE, _jwks, _private_key, bound_token

ALG: Final = "ES256"
URL: Final = "http://localhost/tool"


def dpop_app() -> Flask:
    """The ``oauth`` app of the ES256 rows, with DPoP accepted beside Bearer."""
    app = Flask(__name__)
    app.config.update(
        OTC_AUTH_METHODS=["oauth"], OTC_AUTH_OAUTH_RESOURCE=RESOURCE,
        OTC_AUTH_OAUTH_ISSUERS=[{"issuer": ISSUER, "jwks": _jwks(ALG), "algorithms": [ALG]}],
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
            self._token = bound_token(ALG, key.thumbprint)
            self._proofs = [key.proof("GET", URL, access_token=self._token)
                            for _ in range(self.size)]

    def headers(self, index: int) -> Headers:
        return {"Authorization": "DPoP " + self._token, "DPoP": self._proofs[index]}


class Unbound:
    """The same token without ``cnf``, as Bearer."""

    def __init__(self) -> None:
        self._headers: Headers = {}

    def mint(self) -> None:
        if not self._headers:
            self._headers = {"Authorization": "Bearer " + bound_token(ALG, None)}

    def headers(self, index: int) -> Headers:
        return self._headers


def _built(build: Callable[[], Flask], pool: Proofs | Unbound) -> Callable[[], Flask]:
    def minted_then_built() -> Flask:
        pool.mint()
        return build()
    return minted_then_built


def dpop_cases(new_tokens: int) -> Iterator[Case]:
    """The bearer row of the DPoP app, then the DPoP rows with ES256 and EdDSA proofs."""
    _private_key(ALG)
    bearer = Unbound()
    yield Case(f"OAuth {ALG} as Bearer, DPoP accepted", _built(dpop_app, bearer),
               bearer.headers)
    for proof_alg in ("ES256", "EdDSA"):
        proofs = Proofs(proof_alg, new_tokens)
        yield Case(f"OAuth {ALG} DPoP-bound, {proof_alg} proof each request",
                   _built(dpop_app, proofs), proofs.headers)
