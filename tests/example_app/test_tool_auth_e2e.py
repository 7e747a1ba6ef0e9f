"""Per-tool scopes and step-up on the example server under gunicorn (two workers, limits on the
real local Redis), driven by the real clients: the ``oxp`` client, which raises a 403 as
``PermissionDeniedError``, and oauth4webapi, an OAuth client library, which parses the RFC 9470
challenge of a tool that needs a stronger sign-in.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import httpx
import oxp
import pytest

from flask_otcauth.testing import LocalIssuer

from ..conftest import ServerFactory
from ..node_packages import npm_install
from .support import AUDIENCE, JWT_SECRET, KEY_RECORD, call_body, key_headers, mint

pytestmark = pytest.mark.e2e
APP: Final = "example_app:create_app()"
RESOURCE: Final = "https://tools.example.com"
# gunicorn trusts X-Forwarded-Proto from 127.0.0.1: these requests count as HTTPS.
BEHIND_TLS: Final = {"X-Forwarded-Proto": "https"}
SCRIPT: Final = Path(__file__).parents[1] / "node" / "step_up_client.mjs"
ROUNDS: Final = 12  # enough requests that both workers answer some


@pytest.fixture
def server(gunicorn: ServerFactory, redis_url: str, otc_oauth_issuer: LocalIssuer) -> str:
    """The example server: jwt, api_key and oauth; Math.Divide needs RFC 9470's own example
    requirement (acr "myACR", an authentication at most 5 s old); limits on Redis."""
    return gunicorn({
        "OTC_AUTH_API_KEYS": [KEY_RECORD], "OTC_AUTH_JWT_SECRET": JWT_SECRET,
        "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE], "OTC_AUTH_OAUTH_RESOURCE": RESOURCE,
        "OTC_AUTH_OAUTH_ISSUERS": [otc_oauth_issuer.config()],
        "OTC_AUTH_STORAGE_URI": redis_url, "OTC_AUTH_RATELIMIT_STORAGE_URI": redis_url,
        "OTC_AUTH_RATELIMIT": "1000/minute", "OTC_AUTH_FAILURE_RATELIMIT": "1000/minute",
        "OTC_AUTH_TOOL_STEP_UP": {"Math.Divide": {"acr_values": ["myACR"], "max_age": 5}},
    }, app=APP)


def oxp_client(base_url: str, token: str, http: httpx.Client) -> oxp.Oxp:
    return oxp.Oxp(bearer_token=token, base_url=base_url, http_client=http, max_retries=0)


def refused(call: Callable[[], Any]) -> oxp.PermissionDeniedError:
    with pytest.raises(oxp.PermissionDeniedError) as raised:
        call()
    return raised.value


def test_a_tool_out_of_scope_and_a_missing_tool_are_the_same_403_on_both_workers(
        server: str) -> None:
    token = mint(scope="tools:list tools:call:Math.*")
    with httpx.Client(headers=BEHIND_TLS, timeout=10.0) as http:
        client = oxp_client(server, token, http)
        listed = [sorted(item.id for item in client.tools.list().items) for _ in range(ROUNDS)]
        errors = [refused(lambda tool=tool: client.tools.call(request={"tool_id": tool}))
                  for _ in range(ROUNDS) for tool in ("Text.Stats", "Admin.Nothing")]
        added = client.tools.call(request={"tool_id": "Math.Add", "input": {"a": 2, "b": 3}})

    # Math.Divide needs a user sign-in (step-up) that an OTC token without acr never proves.
    assert listed == [["Math.Add@1.0.0"]] * ROUNDS
    assert {error.status_code for error in errors} == {403}
    assert {(error.body["error"], error.response.headers["WWW-Authenticate"])  # type: ignore[index]
            for error in errors[:2]} == {
        ("insufficient_scope", 'Bearer realm="otc", error="insufficient_scope", '
                               'scope="tools:call:Text.Stats"'),
        ("insufficient_scope", 'Bearer realm="otc", error="insufficient_scope", '
                               'scope="tools:call:Admin.Nothing"')}
    assert getattr(added.result, "value", None) == 5


def test_a_credential_without_acr_calling_a_step_up_tool_is_403_saying_why(
        server: str) -> None:
    """An OTC token without acr or auth_time: no new sign-in can make it meet RFC 9470."""
    with httpx.Client(headers=BEHIND_TLS, timeout=10.0) as http:
        client = oxp_client(server, mint(), http)
        errors = [refused(lambda: client.tools.call(
            request={"tool_id": "Math.Divide", "input": {"dividend": 1, "divisor": 2}}))
            for _ in range(ROUNDS)]
        by_key = http.post(server + "/tools/call", headers=key_headers(),
                           json=call_body("Math.Divide", {"dividend": 1, "divisor": 2}))

    assert {error.body["error"] for error in errors} == {  # type: ignore[index]
        "authentication_context_required"}
    assert "proves no user sign-in" in errors[0].body["developer_message"]  # type: ignore[index]
    assert (by_key.status_code, by_key.json()["error"]) == (403,
                                                             "authentication_context_required")


def test_an_oauth_client_library_reads_the_rfc_9470_challenge(
        server: str, otc_oauth_issuer: LocalIssuer) -> None:
    """RFC 9470 section 3: oauth4webapi parses the challenge into the parameters a client
    sends to its authorization server (section 4); a token that meets them is let in."""
    weak = otc_oauth_issuer.make_token(audience=RESOURCE, scopes=["tools:call:*"], acr="weak",
                                       auth_time=int(time.time()))
    strong = otc_oauth_issuer.make_token(audience=RESOURCE, scopes=["tools:call:*"],
                                         acr="myACR", auth_time=int(time.time()))
    body = json.dumps(call_body("Math.Divide", {"dividend": 1, "divisor": 4}))
    run = node_client()

    challenged = [run(server + "/tools/call", weak, body) for _ in range(4)]
    admitted = run(server + "/tools/call", strong, body)

    assert challenged == [{"status": 401, "challenges": [{
        "scheme": "bearer",
        "parameters": {
            "resource_metadata": RESOURCE + "/.well-known/oauth-protected-resource",
            "error": "insufficient_user_authentication",
            "error_description": "A different authentication level is required",
            "acr_values": "myACR", "max_age": "5"}}]}] * 4
    assert admitted == {"status": 200, "challenges": None}


def node_client() -> Callable[[str, str, str], dict[str, Any]]:
    """``tests/node/step_up_client.mjs`` beside oauth4webapi@3's ``node_modules`` (an ES module
    resolves its imports from where it lives): one request, its parsed answer."""
    installed = npm_install("oauth4webapi@3", purpose="step-up client")
    script = installed.modules.parent / SCRIPT.name
    shutil.copyfile(SCRIPT, script)

    def run(url: str, token: str, body: str) -> dict[str, Any]:
        finished = subprocess.run(  # noqa: S603 - our node, our script
            [installed.node, str(script), url, token, body, *BEHIND_TLS_PAIR],
            capture_output=True, text=True, check=False, timeout=30, cwd=script.parent)
        assert finished.returncode == 0, finished.stderr
        answer: dict[str, Any] = json.loads(finished.stdout)
        return answer

    return run


BEHIND_TLS_PAIR: Final = ("x-forwarded-proto", "https")


def test_the_example_s_own_step_up_tool_under_gunicorn(
        server: str, otc_oauth_issuer: LocalIssuer) -> None:
    """Math.Evaluate's step-up is the example's own ``auth.tool`` declaration (acr "phr", 300
    s), beside the setting's on Math.Divide: an OTC token without acr is neither offered the
    tool nor let call it; an oauth token of a fresh "phr" sign-in lists and calls it."""
    strong = otc_oauth_issuer.make_token(audience=RESOURCE, scopes=["tools:list", "tools:call:*"],
                                         acr="phr", auth_time=int(time.time()))
    request = {"tool_id": "Math.Evaluate", "input": {"expression": "(1 + 2) ** 3"}}
    with httpx.Client(headers=BEHIND_TLS, timeout=10.0) as http:
        weak = oxp_client(server, mint(), http)
        unlisted = [item.id for item in weak.tools.list().items]
        errors = [refused(lambda: weak.tools.call(request=request)) for _ in range(ROUNDS)]
        client = oxp_client(server, strong, http)
        listed = [item.id for item in client.tools.list().items]
        called = client.tools.call(request=request)

    assert "Math.Evaluate@1.0.0" not in unlisted
    assert {error.body["error"] for error in errors} == {  # type: ignore[index]
        "authentication_context_required"}
    assert "Math.Evaluate@1.0.0" in listed
    assert getattr(called.result, "value", None) == 27
