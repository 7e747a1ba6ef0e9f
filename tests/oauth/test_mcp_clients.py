"""Real MCP clients against the example server under gunicorn on 127.0.0.1, with oidc-provider as
its authorization server: the MCP Python SDK's discovery and client_credentials flow, and the
mcp-authlab conformance scanner.

Nothing here parses our headers or documents with code of ours: the SDK's own functions read
the 401 and the metadata, the SDK's own OAuth provider fetches the token, and the scanner grades
the server. The classification of the scanner's checks is docs/oauth.md's table.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, Final

import pytest

from ..oidc_provider import JWT_CLIENT, SCOPE, OidcProvider
from ..servers import free_port, start_gunicorn, stop
from .conftest import OTHER_RESOURCE

pytestmark = pytest.mark.e2e
APP: Final = "example_app:create_app()"
MCP_APP: Final = "tests.mcp_app:create_app()"
SCOPES_SUPPORTED: Final = ["tools:list", "tools:call:Math.Add"]


def require(module: str, package: str) -> None:
    """Skip without the package (the test extra installs it), or fail under CI=true."""
    if importlib.util.find_spec(module) is not None:
        return
    reason = (f"{package} is not installed (pip install -e '.[test]'; mcp-authlab needs "
              "Python 3.11+)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the MCP client tests must run")
    pytest.skip(reason)


def serve(app: str, oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory,
          path: str, scopes: list[str]) -> tuple[Any, str, str]:
    """gunicorn serving ``app`` with oauth alone, its resource its own loopback URL plus
    ``path`` (plain http: loopback), trusting oidc-provider: (process, base URL, resource)."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}{path}"
    oidc_provider.add_resource(resource)
    log = tmp_path_factory.mktemp("tool-server") / "gunicorn.log"
    process, base_url = start_gunicorn(app, {
        "OTC_AUTH_METHODS": ["oauth"], "OTC_AUTH_OAUTH_RESOURCE": resource,
        "OTC_AUTH_OAUTH_ISSUERS": [oidc_provider.issuer_entry()],
        "OTC_AUTH_OAUTH_SCOPES_SUPPORTED": scopes, "OTC_AUTH_REQUIRE_HTTPS": False,
    }, log, args=("-w", "1"), port=port)
    return process, base_url, resource


@pytest.fixture(scope="module")
def tool_server(oidc_provider: OidcProvider,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example server, oauth only, its resource its own loopback URL (plain http: loopback),
    trusting the module's oidc-provider; its base URL (its resource)."""
    process, base_url, _ = serve(APP, oidc_provider, tmp_path_factory, "", SCOPES_SUPPORTED)
    try:
        yield base_url
    finally:
        stop(process)


def test_the_sdk_reads_our_401_challenge(tool_server: str) -> None:
    """RFC 9728 section 5.1 and RFC 6750 section 3: the SDK's own parsers find
    resource_metadata and the view's scope in our WWW-Authenticate."""
    require("mcp", "mcp")
    import httpx2  # noqa: PLC0415 - the SDK's HTTP client, with the SDK
    from mcp.client.auth.utils import (  # noqa: PLC0415
        extract_resource_metadata_from_www_auth,
        extract_scope_from_www_auth,
    )

    response = httpx2.get(f"{tool_server}/tools", timeout=5)
    assert response.status_code == 401
    assert extract_resource_metadata_from_www_auth(response) == (
        f"{tool_server}/.well-known/oauth-protected-resource")
    assert extract_scope_from_www_auth(response) == "tools:list"


def test_the_sdk_parses_our_protected_resource_metadata(
        tool_server: str, oidc_provider: OidcProvider) -> None:
    """RFC 9728 sections 2 and 3.3: the SDK's discovery URLs lead to our document, its model
    accepts it, and its resource check agrees it is the server's."""
    require("mcp", "mcp")
    import httpx2  # noqa: PLC0415
    from mcp.client.auth.utils import (  # noqa: PLC0415
        build_protected_resource_metadata_discovery_urls,
        handle_protected_resource_response,
    )
    from mcp.shared.auth_utils import check_resource_allowed  # noqa: PLC0415

    urls = build_protected_resource_metadata_discovery_urls(None, f"{tool_server}/tools")
    response = httpx2.get(urls[-1], timeout=5)
    metadata = asyncio.run(handle_protected_resource_response(response))
    assert metadata is not None, response.text
    assert str(metadata.resource) == tool_server
    assert [str(server) for server in metadata.authorization_servers] == [oidc_provider.issuer]
    assert metadata.scopes_supported == SCOPES_SUPPORTED
    assert metadata.bearer_methods_supported == ["header"]
    assert check_resource_allowed(f"{tool_server}/tools", str(metadata.resource))


class _Memory:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


def sdk_auth(tool_server: str, oidc_provider: OidcProvider, storage: _Memory) -> Any:
    """The SDK's client_credentials provider, bound to oidc-provider as its issuer."""
    from mcp.client.auth.extensions.client_credentials import (  # noqa: PLC0415
        ClientCredentialsOAuthProvider,
    )

    return ClientCredentialsOAuthProvider(
        server_url=f"{tool_server}/tools", storage=storage, client_id=JWT_CLIENT.client_id,
        client_secret=JWT_CLIENT.client_secret, issuer=oidc_provider.issuer)


def test_the_sdk_discovers_oidc_provider_and_lists_tools_with_its_token(
        tool_server: str, oidc_provider: OidcProvider) -> None:
    """MCP authorization (2025-06-18) sections 2.3-2.5 end to end: 401, our metadata, the
    authorization server's metadata, a client_credentials token for our resource (RFC 8707)
    with the challenge's scope, then the retried request is 200."""
    require("mcp", "mcp")
    import httpx2  # noqa: PLC0415

    storage = _Memory()

    async def listing() -> Any:
        auth = sdk_auth(tool_server, oidc_provider, storage)
        async with httpx2.AsyncClient(auth=auth, timeout=10) as client:
            return await client.get(f"{tool_server}/tools")

    response = asyncio.run(listing())
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []  # tools:list alone may call no tool: none listed
    assert storage.tokens is not None and storage.tokens.scope == "tools:list"


def test_the_sdk_steps_up_on_our_403_and_calls_the_tool(
        tool_server: str, oidc_provider: OidcProvider) -> None:
    """RFC 6750 section 3.1 and MCP's scope step-up: our 403 names the missing scope, the SDK
    asks oidc-provider for the union of the scopes and the retried call is 200."""
    require("mcp", "mcp")
    import httpx2  # noqa: PLC0415

    storage = _Memory()
    body = {"request": {"tool_id": "Math.Add@1.0.0", "input": {"a": 2, "b": 3}}}

    async def listing_then_call() -> Any:
        auth = sdk_auth(tool_server, oidc_provider, storage)
        async with httpx2.AsyncClient(auth=auth, timeout=10) as client:
            assert (await client.get(f"{tool_server}/tools")).status_code == 200
            return await client.post(f"{tool_server}/tools/call", json=body)

    response = asyncio.run(listing_then_call())
    assert response.status_code == 200, response.text
    assert response.json()["result"]["value"] == 5
    assert storage.tokens.scope.split() == ["tools:list", "tools:call:Math.Add"]


def scan(target: str, oidc_provider: OidcProvider, *, resource: str,
         scope: str = SCOPE) -> dict[str, dict[str, Any]]:
    """``mcp-authlab scan target``, tokens from oidc-provider for ``resource`` and for another
    (in the environment, not argv); each check's result by id."""
    token = oidc_provider.token(resource, scope=scope)
    foreign = oidc_provider.token(OTHER_RESOURCE)
    environment = {**os.environ, "MCP_AUTHLAB_TOKEN": token, "MCP_AUTHLAB_FOREIGN_TOKEN": foreign}
    finished = subprocess.run(  # noqa: S603 - our interpreter, the installed scanner
        [sys.executable, "-m", "mcp_authlab", "scan", target, "--no-login",
         "--format", "json", "--timeout", "10"], capture_output=True, text=True, timeout=120,
        check=False, env=environment)
    assert finished.returncode in (0, 2), finished.stderr
    report = json.loads(finished.stdout)
    return {result["id"]: result for result in report["results"]}


APPLICABLE: Final = ("CHAL-01", "CHAL-02", "PRM-01", "PRM-02", "PRM-03", "PRM-04", "PRM-05",
                     "PRM-06", "ASM-01", "ASM-02", "ASM-03", "ASM-04", "ASM-05", "ASM-06",
                     "TOK-01", "TOK-02", "TOK-03", "TOK-04")
"""The checks of a resource server (and of its authorization server's metadata) that an OTC
tool server answers; docs/oauth.md says why each of the others does not apply."""
NOT_APPLICABLE: Final = {
    "TLS-01": "warn",  # plain http on loopback here; TLS is the deployment's (docs/deploying)
    "CHAL-03": "warn",  # /tools/call's scope depends on the tool named in the body
    "TOK-06": "fail",  # MCP's JSON-RPC initialize: an OTC server answers its protocol's 400
    **{check: "skip" for check in ("ASF-01", "ASF-02", "ASF-03", "ASF-04", "ASF-05", "ASF-06",
                                   "TOK-05", "SCOPE-01", "SESS-01", "SESS-02", "ORIG-01",
                                   "VER-01")},
}


def test_mcp_authlab_passes_every_check_that_applies(
        tool_server: str, oidc_provider: OidcProvider) -> None:
    """MCP authorization 2025-06-18, RFC 9728, RFC 8414, RFC 8707 and RFC 6750 as mcp-authlab
    grades them: every applicable check passes, the others end as the table says (a check a
    new scanner version adds fails this test until it is classified)."""
    require("mcp_authlab", "mcp-authlab")
    results = scan(f"{tool_server}/tools/call", oidc_provider, resource=tool_server)
    assert set(results) == set(APPLICABLE) | set(NOT_APPLICABLE)
    failed = {check: results[check]["message"] for check in APPLICABLE
              if results[check]["status"] != "pass"}
    assert failed == {}
    assert {check: results[check]["status"] for check in NOT_APPLICABLE} == NOT_APPLICABLE


def test_mcp_authlab_s_initialize_with_a_valid_token_gets_past_authentication(
        tool_server: str, oidc_provider: OidcProvider) -> None:
    """TOK-06 fails only because an OTC server does not speak MCP's JSON-RPC: with the valid
    token the request passes authentication and the OTC protocol answers 400 (a refused
    token would be 401, RFC 6750 section 3.1)."""
    require("mcp_authlab", "mcp-authlab")
    result = scan(f"{tool_server}/tools/call", oidc_provider, resource=tool_server)["TOK-06"]
    assert result["evidence"]["http_status"] == 400, result
    assert result["evidence"]["www_authenticate"] == [], result


@pytest.fixture(scope="module")
def mcp_endpoint(oidc_provider: OidcProvider,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/mcp_app.py's MCP endpoint behind the same oauth settings; its URL (its resource)."""
    process, _, resource = serve(MCP_APP, oidc_provider, tmp_path_factory, "/mcp",
                                 ["tools:list", "tools:call:list_numbers"])
    try:
        yield resource
    finally:
        stop(process)


MCP_APPLICABLE: Final = (*APPLICABLE, "CHAL-03", "TOK-05", "TOK-06", "SCOPE-01")
MCP_NOT_APPLICABLE: Final = {
    "TLS-01": "warn",  # plain http on loopback
    "ORIG-01": "fail", "VER-01": "warn",  # the MCP transport's, not authentication's
    **{check: "skip" for check in ("ASF-01", "ASF-02", "ASF-03", "ASF-04", "ASF-05", "ASF-06",
                                   "SESS-01", "SESS-02")},
}


def test_mcp_authlab_passes_every_authentication_check_of_an_mcp_endpoint(
        mcp_endpoint: str, oidc_provider: OidcProvider) -> None:
    """The checks the example server cannot reach, through an endpoint that answers MCP: a
    token in the query string is refused (RFC 6750 section 2.3, MCP "Token Requirements"),
    a tool call beyond the token's scope is a 403 naming the scope and resource_metadata
    (RFC 6750 section 3.1, RFC 9728 section 5.1), the 401 names the endpoint's scope."""
    require("mcp_authlab", "mcp-authlab")
    results = scan(mcp_endpoint, oidc_provider, resource=mcp_endpoint, scope="tools:list")
    assert set(results) == set(MCP_APPLICABLE) | set(MCP_NOT_APPLICABLE)
    failed = {check: results[check]["message"] for check in MCP_APPLICABLE
              if results[check]["status"] != "pass"}
    assert failed == {}
    assert results["SCOPE-01"]["evidence"]["http_status"] == 403
    assert {check: results[check]["status"] for check in MCP_NOT_APPLICABLE} == MCP_NOT_APPLICABLE


def test_an_sdk_mcp_session_authenticates_and_steps_up_for_a_tool_call(
        mcp_endpoint: str, oidc_provider: OidcProvider) -> None:
    """The SDK as an MCP application uses it: streamable HTTP and ClientSession over our
    oauth. initialize and tools/list run on the challenge's scope; tools/call gets our 403
    insufficient_scope (RFC 6750 section 3.1), the SDK asks for the union of the scopes and
    the call succeeds."""
    require("mcp", "mcp")
    import httpx2  # noqa: PLC0415
    from mcp import ClientSession  # noqa: PLC0415
    from mcp.client.streamable_http import streamable_http_client  # noqa: PLC0415

    storage = _Memory()

    async def session_run() -> tuple[Any, Any, Any]:
        auth = sdk_auth(mcp_endpoint, oidc_provider, storage)
        async with (httpx2.AsyncClient(auth=auth, timeout=10) as http,
                    streamable_http_client(mcp_endpoint, http_client=http) as streams,
                    ClientSession(streams[0], streams[1]) as session):
            initialized = await session.initialize()
            listed = await session.list_tools()
            called = await session.call_tool("list_numbers", {})
            return initialized, listed, called

    initialized, listed, called = asyncio.run(asyncio.wait_for(session_run(), 60))
    assert initialized.server_info.name == "otcauth-mcp-test"
    assert [tool.name for tool in listed.tools] == ["list_numbers"]
    assert called.is_error is False and called.content[0].text == "1 2 3"
    assert storage.tokens.scope.split() == ["tools:list", "tools:call:list_numbers"]
