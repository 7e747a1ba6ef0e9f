"""The one-parse JWT path accepts and refuses exactly what ``jwt.decode`` does, claim by claim.

Our time rules are PyJWT's with two allowances instead of one: ``iat`` and ``nbf`` may be
``OTC_AUTH_JWT_CLOCK_SKEW`` ahead, ``exp`` only ``OTC_AUTH_JWT_LEEWAY`` behind; so a token is
compared with ``jwt.decode`` run once with each (the lifetime cap is ours alone, and no token
here comes near it).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from flask_otcauth import OTCAuthConfigError
from flask_otcauth.core.methods.jwt import JwtScheme
from flask_otcauth.core.refusals import AuthFailure

from ..conftest import build_app
from ..helpers import JWT_SECRET, OLD_JWT_SECRET

ISSUER = "https://issuer.example"


def scheme(*, leeway: int = 0, skew: int = 60, issuer: str | None = None) -> JwtScheme:
    return JwtScheme([JWT_SECRET.encode(), OLD_JWT_SECRET.encode()], audiences=[],
                     require_audience=False, issuer=issuer, max_lifetime=900, leeway=leeway,
                     clock_skew=skew)


def ours(token: str, **settings: Any) -> bool:
    try:
        scheme(**settings).verify(token, time.time())
    except AuthFailure:
        return False
    return True


def pyjwt(token: str, *, leeway: int = 0, skew: int = 60, issuer: str | None = None) -> bool:
    """``jwt.decode``'s verdict with ``skew`` on iat and nbf and ``leeway`` on exp."""
    return (_pyjwt(token, leeway=skew, issuer=issuer, checks=("nbf", "iat"))
            and _pyjwt(token, leeway=leeway, issuer=issuer, checks=("exp",)))


def _pyjwt(token: str, *, leeway: int, issuer: str | None, checks: tuple[str, ...]) -> bool:
    require = ["exp"] + (["iss"] if issuer is not None else [])
    options: dict[str, Any] = {"require": require, "verify_aud": False,
                               **{f"verify_{name}": name in checks
                                  for name in ("exp", "nbf", "iat")}}
    for secret in (JWT_SECRET, OLD_JWT_SECRET):
        try:
            jwt.decode(token, secret, algorithms=["HS256"], leeway=leeway, issuer=issuer,
                       options=options)
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            return False
        return True
    return False


# Offsets in seconds from now; whole seconds and fractions, each a few seconds from any edge.
CLAIMS = [
    {"exp": 300},
    {"exp": -5},
    {"exp": -5.5},
    {"exp": 4.7},
    {"exp": 300, "nbf": 5},
    {"exp": 300, "nbf": -5},
    {"exp": 300, "nbf": 5.9},
    {"exp": 300, "iat": 5},
    {"exp": 300, "iat": -60},
    {"exp": 300, "iat": 5.5, "nbf": -5},
    {"exp": -20, "nbf": 10},
    {"nbf": -5},
    {"exp": 300, "iat": 65},
    {"exp": 300, "nbf": 65.5},
    {"exp": 300, "iat": 55, "nbf": 55},
    {"exp": -5, "iat": -400},
]


def token_for(offsets: dict[str, float], secret: str = JWT_SECRET, **extra: Any) -> str:
    now = time.time()
    return jwt.encode({**{name: now + value for name, value in offsets.items()}, **extra},
                      secret, algorithm="HS256")


@pytest.mark.parametrize("offsets", CLAIMS)
@pytest.mark.parametrize("leeway", [0, 10])
@pytest.mark.parametrize("skew", [0, 60])
def test_time_claims_are_judged_as_pyjwt_judges_them(
    offsets: dict[str, float], leeway: int, skew: int
) -> None:
    token = token_for(offsets)
    assert ours(token, leeway=leeway, skew=skew) == pyjwt(token, leeway=leeway, skew=skew)


@pytest.mark.parametrize("extra", [{"iss": ISSUER}, {"iss": "https://other.example"}, {}])
def test_issuer_is_judged_as_pyjwt_judges_it(extra: dict[str, Any]) -> None:
    token = token_for({"exp": 300}, **extra)
    assert ours(token, issuer=ISSUER) == pyjwt(token, issuer=ISSUER)


@pytest.mark.parametrize("secret", [JWT_SECRET, OLD_JWT_SECRET, "an-unknown-secret-" + "k" * 32])
def test_secrets_in_rotation_are_judged_as_pyjwt_judges_them(secret: str) -> None:
    token = token_for({"exp": 300}, secret)
    assert ours(token) == pyjwt(token)


def test_a_tampered_payload_fails_the_signature() -> None:
    token = token_for({"exp": 300}, sub="agent")
    head, _, signature = token.split(".")
    forged = jwt.encode({"exp": time.time() + 300, "sub": "admin"}, "x" * 40).split(".")[1]
    assert not ours(f"{head}.{forged}.{signature}")


def test_a_secret_shaped_like_a_pem_key_is_refused_at_start_up() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + "A" * 40 + (
        "\n-----END PUBLIC KEY-----\n")
    with pytest.raises(OTCAuthConfigError, match="OTC_AUTH_JWT_SECRET"):
        build_app(OTC_AUTH_JWT_SECRET=pem)
