"""The example app driven by the real OXP client from PyPI, over an in-process WSGI transport.

This is the check that our responses are what a real client parses, not only what our own
tests expect: status codes map to the client's exception classes, bodies to its models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import oxp
import pytest
from flask import Flask

from flask_otcauth.client import HttpxAuth

from .support import ALL_TOOLS, API_KEY, WITHOUT_STEP_UP, mint

BASE_URL = "http://testserver"
ClientFactory = Callable[..., oxp.Oxp]


@pytest.fixture
def oxp_client(make_app: Callable[..., Flask]) -> Iterator[ClientFactory]:
    """Build an OXP client for an app configured with ``app_config``; closes them all after."""
    opened: list[httpx.Client] = []

    def build(
        bearer_token: str, app_config: dict[str, Any] | None = None,
        auth: httpx.Auth | None = None, **client_options: Any
    ) -> oxp.Oxp:
        app = make_app(**(app_config or {}))
        http_client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE_URL,
                                   auth=auth)
        opened.append(http_client)
        return oxp.Oxp(
            bearer_token=bearer_token,
            base_url=BASE_URL,
            http_client=http_client,
            max_retries=0,
            **client_options,
        )

    yield build
    for http_client in opened:
        http_client.close()


def test_client_lists_tools_with_a_jwt(oxp_client: ClientFactory) -> None:
    tools = oxp_client(mint()).tools.list()

    assert tools.schema_ == "urn:oxp:1.0"
    assert {item.id for item in tools.items} >= {"Math.Add@1.0.0", "Time.UtcNow@1.0.0"}
    assert all(item.input_schema is not None for item in tools.items)


def test_client_calls_a_tool_with_a_jwt(oxp_client: ClientFactory) -> None:
    response = oxp_client(mint()).tools.call(
        request={"tool_id": "Math.Add@1.0.0", "input": {"a": 20, "b": 22}, "call_id": "c-1"}
    )

    assert response.result.success is True
    assert response.result.call_id == "c-1"
    assert getattr(response.result, "value", None) == 42


def test_client_sees_a_tool_error_as_a_failed_result(oxp_client: ClientFactory) -> None:
    response = oxp_client(mint()).tools.call(
        request={"tool_id": "Math.Divide", "input": {"dividend": 1, "divisor": 0}}
    )

    assert isinstance(response.result, oxp.types.tool_call_response.ResultUnionMember1)
    assert response.result.error.message == "Cannot divide by zero."


def test_client_lists_tools_with_the_oxp_api_key_header(oxp_client: ClientFactory) -> None:
    client = oxp_client(
        "junk-the-client-always-sends-a-bearer",
        {"OTC_AUTH_METHODS": ["api_key"]},
        default_headers={"OXP-API-Key": API_KEY},
    )

    assert [item.id for item in client.tools.list().items] == WITHOUT_STEP_UP


def test_client_checks_health_without_credentials(oxp_client: ClientFactory) -> None:
    response = oxp_client("junk").health.with_raw_response.check()

    assert response.status_code == 200


def test_bad_token_raises_authentication_error(oxp_client: ClientFactory) -> None:
    with pytest.raises(oxp.AuthenticationError) as raised:
        oxp_client("not-a-jwt").tools.list()

    assert raised.value.status_code == 401


def test_token_with_a_foreign_audience_raises_authentication_error(
    oxp_client: ClientFactory,
) -> None:
    with pytest.raises(oxp.AuthenticationError):
        oxp_client(mint(aud="someone-else")).tools.list()


def test_unknown_tool_raises_bad_request_error(oxp_client: ClientFactory) -> None:
    with pytest.raises(oxp.BadRequestError) as raised:
        oxp_client(mint()).tools.call(request={"tool_id": "Math.Pow", "input": {}})

    assert isinstance(raised.value.body, dict)
    assert raised.value.body["message"] == "Unknown tool."


def test_invalid_input_raises_unprocessable_entity_error(oxp_client: ClientFactory) -> None:
    with pytest.raises(oxp.UnprocessableEntityError) as raised:
        oxp_client(mint()).tools.call(request={"tool_id": "Math.Add", "input": {"a": 1}})

    assert isinstance(raised.value.body, dict)
    assert raised.value.body["parameter_errors"] == {"b": "This parameter is required."}


def test_exceeding_the_rate_limit_raises_rate_limit_error(oxp_client: ClientFactory) -> None:
    client = oxp_client(mint(), {"OTC_AUTH_RATELIMIT": "2/minute"})
    client.tools.list()
    client.tools.list()

    with pytest.raises(oxp.RateLimitError) as raised:
        client.tools.list()

    assert int(raised.value.response.headers["Retry-After"]) > 0


def test_calling_a_tool_out_of_scope_raises_permission_denied_error(
    oxp_client: ClientFactory,
) -> None:
    client = oxp_client(mint(scope="tools:list tools:call:Math.*"))

    with pytest.raises(oxp.PermissionDeniedError) as raised:
        client.tools.call(request={"tool_id": "Text.Stats", "input": {"text": "a b"}})

    assert raised.value.status_code == 403
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["error"] == "insufficient_scope"


def test_listing_without_the_list_scope_raises_permission_denied_error(
    oxp_client: ClientFactory,
) -> None:
    with pytest.raises(oxp.PermissionDeniedError):
        oxp_client(mint(scope="tools:call:*")).tools.list()


def test_the_client_lists_only_the_tools_in_scope(oxp_client: ClientFactory) -> None:
    tools = oxp_client(mint(scope="tools:list tools:call:Math.Add")).tools.list()

    assert [item.id for item in tools.items] == ["Math.Add@1.0.0"]


# An API key (or a signature) on a server that enables jwt too: leave Authorization out ------

SIGNING_CLIENT, SIGNING_SECRET = "signing-platform", "oxp-signing-secret-" + "Tq8Lz" * 8
WITH_KEY = {"OXP-API-Key": API_KEY}


def test_the_placeholder_bearer_beside_a_key_is_refused_where_jwt_is_enabled(
    oxp_client: ClientFactory,
) -> None:
    client = oxp_client("placeholder", default_headers=WITH_KEY)  # jwt and api_key enabled

    with pytest.raises(oxp.AuthenticationError) as raised:
        client.tools.list()

    assert raised.value.response.json()["error"] == "invalid_token"


def test_a_key_with_authorization_omitted_per_call_lists_and_calls_where_jwt_is_enabled(
    oxp_client: ClientFactory,
) -> None:
    client = oxp_client("placeholder", default_headers=WITH_KEY)
    omit = {"Authorization": oxp.Omit()}

    tools = client.tools.list(extra_headers=omit)
    response = client.tools.call(request={"tool_id": "Math.Add", "input": {"a": 2, "b": 3}},
                                 extra_headers=omit)

    assert [item.id for item in tools.items] == WITHOUT_STEP_UP
    assert getattr(response.result, "value", None) == 5


def test_a_key_with_authorization_omitted_by_default_works_where_jwt_is_enabled(
    oxp_client: ClientFactory,
) -> None:
    client = oxp_client("placeholder",
                        default_headers={**WITH_KEY, "Authorization": oxp.Omit()})

    assert [item.id for item in client.tools.list().items] == WITHOUT_STEP_UP


def test_a_signing_client_with_authorization_omitted_works_where_jwt_is_enabled(
    oxp_client: ClientFactory,
) -> None:
    client = oxp_client(
        "placeholder",
        {"OTC_AUTH_METHODS": ["jwt", "hmac"], "OTC_AUTH_HMAC_CLIENTS": {
            SIGNING_CLIENT: {"secrets": [SIGNING_SECRET], "scopes": ALL_TOOLS}}},
        auth=HttpxAuth(SIGNING_CLIENT, SIGNING_SECRET),
        default_headers={"Authorization": oxp.Omit()},
    )

    response = client.tools.call(request={"tool_id": "Math.Add", "input": {"a": 4, "b": 5}})

    assert getattr(response.result, "value", None) == 9
