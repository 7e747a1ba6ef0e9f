"""Spec clients against the example server out of the box: every tool listed and called, 200.

The credentials are what a platform following only the OTC spec sends: the minimal token
``{"aud": ..., "exp": now + 300}`` from PyJWT, a token from Node's ``jsonwebtoken`` with its
defaults (``iat`` added, ``expiresIn``), a plain key; and the same through the ``oxp`` client.
None carries scopes, so the example's ``OTC_AUTH_SCOPELESS_GRANTS`` decides what they may do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import oxp
import pytest
from flask import Flask

from ..helpers import assert_refused, scope_challenge
from ..jsonwebtoken import NodeSigner, install
from .spec_platform import (
    AUDIENCE,
    BASE_URL,
    EVERY_TOOL,
    PLAIN_KEY,
    SECRET,
    bearer,
    key,
    list_and_call_every_tool,
    production_app,
)


@pytest.fixture(scope="session")
def jsonwebtoken() -> NodeSigner:
    return install()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    return production_app(monkeypatch)


def spec_minimal_token() -> str:
    return jwt.encode({"aud": AUDIENCE, "exp": int(time.time()) + 300}, SECRET,
                      algorithm="HS256")


def node_tokens(signer: NodeSigner, count: int, **payload: Any) -> Iterator[str]:
    """Tokens as a Node platform mints them: ``jwt.sign(payload, secret, {audience,
    expiresIn: 900})``, so ``iat`` is its now and ``exp`` is ``iat + 900``."""
    yield from signer.sign(SECRET, [(payload, {"audience": AUDIENCE, "expiresIn": 900})] * count)


def test_the_spec_s_minimal_token_from_pyjwt_lists_and_calls_every_tool(app: Flask) -> None:
    successes = list_and_call_every_tool(app.test_client(), lambda: bearer(spec_minimal_token()))
    assert successes == [True] * len(EVERY_TOOL)


def test_a_plain_key_lists_and_calls_every_tool(app: Flask) -> None:
    assert list_and_call_every_tool(app.test_client(), key) == [True] * len(EVERY_TOOL)


def test_a_token_from_node_jsonwebtoken_lists_and_calls_every_tool(
    app: Flask, jsonwebtoken: NodeSigner
) -> None:
    tokens = node_tokens(jsonwebtoken, 1 + len(EVERY_TOOL))
    successes = list_and_call_every_tool(app.test_client(), lambda: bearer(next(tokens)))
    assert successes == [True] * len(EVERY_TOOL)


def test_a_node_token_with_scopes_is_held_to_them(app: Flask, jsonwebtoken: NodeSigner) -> None:
    [token] = node_tokens(jsonwebtoken, 1, scope="tools:list tools:call:Math.Add")
    client = app.test_client()
    listed = client.get("/tools", headers=bearer(token), base_url=BASE_URL).get_json()
    assert [item["id"] for item in listed["items"]] == ["Math.Add@1.0.0"]
    refused = client.post("/tools/call", headers=bearer(token), base_url=BASE_URL,
                          json={"request": {"tool_id": "Text.Stats", "input": {"text": "a"}}})
    assert_refused(refused, 403, "insufficient_scope",
                   challenges=[scope_challenge("tools:call:Text.Stats")])


def test_least_privilege_grants_a_scopeless_credential_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTC_AUTH_SCOPELESS_GRANTS", "[]")
    client = production_app(monkeypatch).test_client()
    for headers in (bearer(spec_minimal_token()), key()):
        assert_refused(client.get("/tools", headers=headers, base_url=BASE_URL), 403,
                       "insufficient_scope", hint="tools:list")


# The oxp client (PyPI), over an in-process WSGI transport -----------------------------------

OxpFactory = Callable[..., oxp.Oxp]


@pytest.fixture
def oxp_client(app: Flask) -> Iterator[OxpFactory]:
    opened: list[httpx.Client] = []

    def build(bearer_token: str, **options: Any) -> oxp.Oxp:
        http_client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE_URL)
        opened.append(http_client)
        return oxp.Oxp(bearer_token=bearer_token, base_url=BASE_URL, http_client=http_client,
                       max_retries=0, **options)

    yield build
    for http_client in opened:
        http_client.close()


def oxp_lists_and_calls_every_tool(client: oxp.Oxp) -> list[bool]:
    listed = [item.id for item in client.tools.list().items]
    assert sorted(listed) == sorted(EVERY_TOOL)
    return [client.tools.call(request={"tool_id": tool_id, "input": EVERY_TOOL[tool_id]}
                              ).result.success for tool_id in listed]


def test_oxp_with_the_spec_s_minimal_token_lists_and_calls_every_tool(
    oxp_client: OxpFactory,
) -> None:
    successes = oxp_lists_and_calls_every_tool(oxp_client(spec_minimal_token()))
    assert successes == [True] * len(EVERY_TOOL)


def test_oxp_with_a_node_token_lists_and_calls_every_tool(
    oxp_client: OxpFactory, jsonwebtoken: NodeSigner
) -> None:
    [token] = node_tokens(jsonwebtoken, 1)
    assert oxp_lists_and_calls_every_tool(oxp_client(token)) == [True] * len(EVERY_TOOL)


def test_oxp_with_a_plain_key_lists_and_calls_every_tool(oxp_client: OxpFactory) -> None:
    """oxp always sends its bearer_token; Omit() keeps it from being read as a bad token."""
    client = oxp_client("unused", default_headers={"OTC-API-Key": PLAIN_KEY,
                                                   "Authorization": oxp.Omit()})
    assert oxp_lists_and_calls_every_tool(client) == [True] * len(EVERY_TOOL)


def test_oxp_s_placeholder_bearer_next_to_a_key_is_told_it_is_not_a_jwt(
    oxp_client: OxpFactory,
) -> None:
    client = oxp_client("placeholder", default_headers={"OTC-API-Key": PLAIN_KEY})
    with pytest.raises(oxp.AuthenticationError) as raised:
        client.tools.list()
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["developer_message"].startswith(
        "Not a JWT: received 11 characters in 1 dot-separated segment.")
