"""The whole request path, fed random and mutated credentials through HTTP.

Invariants: never a 5xx; a 2xx exactly when every credential sent is an accepted spelling of a
valid one; and every answer within a bound far above normal (a request takes about a
millisecond): a guard against inputs of these sizes (up to 300 characters) that make parsing
blow up. Inputs of 8 KiB to 2 MB, where a slow parse would show (PyJWT takes 133 ms on a 1 MB
token), are timed against bare Flask in ``tests/security/test_size_attacks.py``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any
from unittest import mock

from hypothesis import event, given
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

from ..conftest import build_app
from ..forge import forge, valid_claims
from ..helpers import API_KEY, AUDIENCE

APP = build_app()
PROTECT_ALL_APP = build_app(OTC_AUTH_PROTECT_ALL=True)
VALID_TOKEN = forge(claims=valid_claims(exp=int(time.time()) + 600))
VALID_AUTHORIZATION = f"Bearer {VALID_TOKEN}"
# RFC 6750: "Bearer" 1*SP b64token, the scheme case-insensitive (spec decision 6), the token
# itself character for character. Spelled out in ASCII, so no Unicode case folding can pass.
ACCEPTED_AUTHORIZATION = re.compile("[Bb][Ee][Aa][Rr][Ee][Rr] +" + re.escape(VALID_TOKEN))
MAX_SECONDS = 1.0
# What a WSGI server can hand over: latin-1 text without line breaks.
header_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=300)


def mutated(value: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda index, char, mode: (value[:index] + char + value[index + 1:] if mode == "replace"
                                   else value[:index] + char + value[index:] if mode == "insert"
                                   else value[:index] + value[index + 1:]),
        st.integers(0, len(value) - 1), st.characters(codec="latin-1", exclude_characters="\r\n"),
        st.sampled_from(["replace", "insert", "delete"]))


authorization = st.one_of(header_text, st.builds("Bearer {}".format, header_text),
                          mutated(VALID_AUTHORIZATION), st.just(VALID_AUTHORIZATION))
api_key = st.one_of(header_text, mutated(API_KEY), st.just(API_KEY))


def request(client: Any, path: str, headers: dict[str, str]) -> int:
    started = time.perf_counter()
    # PATH_INFO as a server hands it over, unparsed: "//x:y" is a path here, not a URL.
    response = client.get("/", headers=headers, environ_overrides={"PATH_INFO": path})
    elapsed = time.perf_counter() - started
    assert elapsed < MAX_SECONDS, f"{elapsed:.3f} s for one request"
    assert response.status_code < 500, response.get_data(as_text=True)
    return int(response.status_code)


def meant_as_bearer(value: str) -> bool:
    """Whether an Authorization value is a bearer token, however misspelt (a leading space, a
    tab, no space): it is then verified or refused, never ignored as another scheme's."""
    return value.lstrip()[:6].lower() == "bearer"


def authorization_kind(auth: str | None) -> str:
    if auth is None:
        return "absent"
    if ACCEPTED_AUTHORIZATION.fullmatch(auth) is not None:
        return "valid" if auth == VALID_AUTHORIZATION else "valid, another spelling"
    return "refused" if meant_as_bearer(auth) else "ignored (another scheme)"


def expected_status(auth: str | None, key: str | None) -> int:
    """200 exactly when every credential sent is an accepted spelling of a valid one."""
    kind = authorization_kind(auth)
    if kind == "refused" or key not in (None, API_KEY):
        return 401
    return 200 if kind.startswith("valid") or key == API_KEY else 401


@given(st.none() | authorization, st.none() | api_key)
def test_random_and_mutated_credentials(auth: str | None, key: str | None) -> None:
    headers = {name: value for name, value in (("Authorization", auth), ("OTC-API-Key", key))
               if value is not None}
    expected = expected_status(auth, key)
    event(f"{expected}, Authorization {authorization_kind(auth)}")
    assert request(APP.test_client(), "/tools", headers) == expected


def endpoint(method: str, path: str) -> str | None:
    """The view Werkzeug routes ``method`` and ``path`` (as PATH_INFO) to, if any."""
    environ = EnvironBuilder(method=method).get_environ()
    environ["PATH_INFO"] = path
    try:
        name, _ = PROTECT_ALL_APP.url_map.bind_to_environ(environ).match()
    except HTTPException:  # 404, 405, or a redirect to another spelling
        return None
    return str(name)


@given(st.sampled_from(["tools", "open", "optional", "jwt-only", "tools/", "/tools", "/open"])
       | st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60),
       st.sampled_from(["GET", "HEAD", "POST", "OPTIONS"]))
def test_random_paths_under_protect_all(path: str, method: str) -> None:
    """401, OPTIONS included (not 404), but for a preflight to a URL with a route and an
    anonymous caller of the optional view."""
    started = time.perf_counter()
    response = PROTECT_ALL_APP.test_client().open(
        "/", method=method, environ_overrides={"PATH_INFO": "/" + path})
    assert time.perf_counter() - started < MAX_SECONDS
    view = endpoint(method, "/" + path)
    if (method == "OPTIONS" and view is not None) or view == "optional":
        assert response.status_code == 200
    else:
        assert response.status_code == 401, (response.status_code, response.get_data())


@dataclass(frozen=True)
class Ahead:
    """An exp this many seconds after the frozen now of the example."""

    seconds: float


def acceptable(header: dict[str, str], claims: dict[str, Any], now: int) -> bool:
    """RFC 7519 and our rules, on jwt.decode's whole seconds: only HS256 and typ JWT in the
    header; an exp after now and, as the token has no iat, at most 900 s (the lifetime cap)
    plus 60 s (the clock skew) ahead; sub a string; aud naming our client."""
    exp: Any = claims.get("exp")
    audience: Any = claims.get("aud", AUDIENCE)
    return (header.get("alg") == "HS256" and set(header) <= {"alg", "typ"}
            and header.get("typ", "JWT") == "JWT"
            and (type(exp) is int or (type(exp) is float and math.isfinite(exp)))
            and int(exp) > now and exp <= now + 900 + 60
            and isinstance(claims.get("sub", ""), str)
            and (audience == AUDIENCE or (isinstance(audience, list) and AUDIENCE in audience
                 and all(isinstance(item, str) for item in audience))))


@given(st.dictionaries(st.sampled_from(["alg", "typ", "kid", "jku", "crit", "cty"]),
                       st.sampled_from(["HS256", "JWT", "none", "", "x"]), max_size=4)
       | st.sampled_from([{"alg": "HS256"}, {"alg": "HS256", "typ": "JWT"}]),
       st.fixed_dictionaries({}, optional={
           "exp": st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans(),
                            st.sampled_from([10**20, 10**400, -(10**400)]),  # past any float
                            st.builds(Ahead, st.integers(-3, 963)),
                            st.builds(Ahead, st.floats(-3, 963))),
           "sub": st.one_of(st.text(max_size=5), st.integers(), st.none()),
           "aud": st.one_of(st.text(max_size=5), st.just(AUDIENCE),
                            st.lists(st.text(max_size=5) | st.just(AUDIENCE), max_size=2)),
       }) | st.fixed_dictionaries(  # near the boundaries of a valid token
           {"exp": st.builds(Ahead, st.integers(-2, 2) | st.integers(958, 962)
                             | st.floats(-2, 2) | st.floats(958, 962))},
           optional={"sub": st.text(max_size=5), "aud": st.just(AUDIENCE)}))
def test_validly_signed_tokens_of_random_shape(header: dict[str, str],
                                                claims: dict[str, Any]) -> None:
    """Signed with the real secret, so only our rules stand between the token and a 200: the
    answer is 200 exactly when those rules allow it, on a clock frozen at a whole second."""
    now = int(time.time())
    claims = {name: now + value.seconds if isinstance(value, Ahead) else value
              for name, value in claims.items()}
    token = forge(header, claims)
    expected = 200 if acceptable(header, claims, now) else 401
    event(f"expected {expected}")
    with mock.patch.object(time, "time", return_value=float(now)):
        status = request(APP.test_client(), "/tools", {"Authorization": f"Bearer {token}"})
    assert status == expected
