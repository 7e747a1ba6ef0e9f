"""The whole request path, fed random and mutated credentials through HTTP.

Invariants: never a 5xx, never a 2xx without a valid credential, and every answer within a
bound far above normal (a request takes about a millisecond): a guard against inputs that make
parsing blow up, like the 1 MB token PyJWT takes 133 ms to decode, not a speed measurement.
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ..conftest import build_app
from ..forge import forge, valid_claims
from ..helpers import API_KEY

APP = build_app()
PROTECT_ALL_APP = build_app(OTC_AUTH_PROTECT_ALL=True)
VALID_TOKEN = forge(claims=valid_claims(exp=int(time.time()) + 600))
VALID_AUTHORIZATION = f"Bearer {VALID_TOKEN}"
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


def is_bearer(value: str) -> bool:
    return value.partition(" ")[0].lower() == "bearer"


@given(st.none() | authorization, st.none() | api_key)
def test_random_and_mutated_credentials(auth: str | None, key: str | None) -> None:
    headers = {name: value for name, value in (("Authorization", auth), ("OTC-API-Key", key))
               if value is not None}
    status = request(APP.test_client(), "/tools", headers)
    if status == 200:
        assert key in (None, API_KEY)
        assert auth is None or auth == VALID_AUTHORIZATION or not is_bearer(auth)
        assert key == API_KEY or auth == VALID_AUTHORIZATION
    else:
        assert status == 401


@given(st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60))
def test_random_paths_under_protect_all(path: str) -> None:
    assert request(PROTECT_ALL_APP.test_client(), "/" + path, {}) == 401


@given(st.dictionaries(st.sampled_from(["alg", "typ", "kid", "jku", "crit", "cty"]),
                       st.sampled_from(["HS256", "JWT", "none", "", "x"]), max_size=4),
       st.fixed_dictionaries({}, optional={
           "exp": st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans()),
           "sub": st.one_of(st.text(max_size=5), st.integers(), st.none()),
           "aud": st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=2)),
       }))
def test_validly_signed_tokens_of_random_shape(header: dict[str, str],
                                                claims: dict[str, Any]) -> None:
    """Signed with the real secret, so only our rules stand between the token and a 200."""
    token = forge(header, claims)
    status = request(APP.test_client(), "/tools", {"Authorization": f"Bearer {token}"})
    if status == 200:
        now = time.time()
        assert header.get("alg") == "HS256" and set(header) <= {"alg", "typ"}
        assert header.get("typ", "JWT") == "JWT"
        exp = claims["exp"]
        assert type(exp) in (int, float) and now - 5 < exp <= now + 900
        assert isinstance(claims.get("sub", ""), str)
