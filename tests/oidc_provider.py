"""A real authorization server for the oauth tests: npm ``oidc-provider`` on 127.0.0.1, offline.

Our own local issuer (the pytest plugin's) proves what we sign ourselves; this one proves that
tokens, key sets and introspection answers of a widely deployed implementation we did not
write are read as their RFCs mean. The Node side is ``tests/node/oidc_provider_server.mjs``:
clients get tokens with the client_credentials grant and an RFC 8707 resource indicator (no
browser), as JWT access tokens (RFC 9068) or opaque ones per client; introspection (RFC 7662)
and revocation (RFC 7009) are on, DPoP (RFC 9449) binds the tokens of a request that
sends a proof, and mTLS (RFC 8705) those of a client registered as certificate-bound; two
harness-only routes rotate the signing key and count the
JWK Set fetches. Without node or npm the tests skip with the reason, except under ``CI=true``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import selectors
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import pytest

from .node_packages import npm_install

PACKAGE: Final = "oidc-provider@9"
SCRIPT: Final = Path(__file__).resolve().parent / "node" / "oidc_provider_server.mjs"
BOOT_TIMEOUT_SECONDS: Final = 20.0
TOKEN_TTL: Final = 3600
SCOPE: Final = "tools:list tools:call:Math.Add"
"""What a token asks for unless a test says otherwise."""
GRANTABLE: Final = f"{SCOPE} tools:call:list_numbers"
"""What every resource server of the provider may be granted (tests/mcp_app.py's tool too)."""


@dataclass(frozen=True)
class Client:
    """A client registered at the provider (client_credentials, client_secret_basic)."""

    client_id: str
    client_secret: str
    format: str = "jwt"  # of its access tokens: "jwt" (RFC 9068) or "opaque"
    mtls: bool = False  # its tokens are bound to its certificate (RFC 8705 section 3)

    def as_json(self) -> dict[str, str | bool]:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "format": self.format, "mtls": self.mtls}


JWT_CLIENT: Final = Client("agent-platform", "agent-platform-secret-0123456789abcdef")
OPAQUE_CLIENT: Final = Client("reference-tokens", "reference-tokens-secret-0123456789ab",
                              format="opaque")
CERTIFICATE_CLIENT: Final = Client("cert-bound", "cert-bound-secret-0123456789abcdefghij",
                                   mtls=True)
INTROSPECTOR: Final = Client("tools-server", "tools-server-secret-0123456789abcdef")


def _basic(client: Client) -> str:
    """RFC 6749 section 2.3.1: id and secret form-url-encoded, then Basic."""
    pair = (f"{urllib.parse.quote(client.client_id, safe='')}:"
            f"{urllib.parse.quote(client.client_secret, safe='')}")
    return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass
class OidcProvider:
    """One oidc-provider process: its issuer URL, and what the tests ask of it."""

    resources: dict[str, str]  # resource indicator -> the audience its tokens carry
    clients: tuple[Client, ...] = (JWT_CLIENT, OPAQUE_CLIENT, CERTIFICATE_CLIENT)
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    issuer: str = ""

    def start(self, log: Path) -> OidcProvider:
        """Install the package (once), start node, and return once the discovery answers."""
        installed = npm_install(PACKAGE, purpose="oidc-provider")
        # An ES module resolves its imports from where it lives: beside the node_modules.
        script = installed.modules.parent / SCRIPT.name
        shutil.copyfile(SCRIPT, script)
        settings = {"clients": [client.as_json() for client in self.clients],
                    "introspector": INTROSPECTOR.as_json(), "resources": self.resources,
                    "scope": GRANTABLE, "token_ttl": TOKEN_TTL}
        with log.open("w") as errors:
            self.process = subprocess.Popen(  # noqa: S603 - our node, our script, JSON settings
                [installed.node, str(script), json.dumps(settings)], stdout=subprocess.PIPE,
                stderr=errors, text=True, cwd=script.parent)
        self.issuer = f"http://127.0.0.1:{self._port(log)}"
        self._wait_ready(log)
        return self

    def _port(self, log: Path) -> int:
        assert self.process is not None and self.process.stdout is not None
        line = _read_line(self.process.stdout, BOOT_TIMEOUT_SECONDS)
        if not line:
            self.stop()
            pytest.fail(f"oidc-provider did not start:\n{log.read_text()[-3000:]}")
        return int(json.loads(line)["port"])

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS
        while True:
            with contextlib.suppress(OSError):
                discovery = self.get_json("/.well-known/openid-configuration")
                if discovery.get("issuer") == self.issuer:
                    return
            if self.process is None or self.process.poll() is not None \
                    or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"oidc-provider did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the process this harness started (by its PID), waiting for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def get_json(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.issuer + path, timeout=5) as response:  # noqa: S310
            answer: dict[str, Any] = json.load(response)
            return answer

    def _post(self, path: str, form: dict[str, str] | None, client: Client | None = None, *,
              body: bytes = b"", extra: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json", **(extra or {})}
        if client is not None:
            headers["Authorization"] = _basic(client)
        data = body if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            self.issuer + path, data=data, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            body = response.read()
        return json.loads(body) if body else {}

    def token(self, resource: str, *, client: Client = JWT_CLIENT, scope: str = SCOPE) -> str:
        """An access token from the client_credentials grant for ``resource`` (RFC 8707)."""
        answer = self._post("/token", {"grant_type": "client_credentials", "resource": resource,
                                       "scope": scope}, client)
        assert answer.get("token_type") == "Bearer", answer
        token: str = answer["access_token"]
        return token

    def dpop_token(self, resource: str, proof: Any, *, client: Client = JWT_CLIENT,
                   scope: str = SCOPE) -> str:
        """A DPoP-bound access token (RFC 9449 section 5): ``proof(method, url)`` makes the
        proof for the token request, with the key the token is bound to."""
        url = self.issuer + "/token"
        answer = self._post("/token", {"grant_type": "client_credentials", "resource": resource,
                                       "scope": scope}, client,
                            extra={"DPoP": proof("POST", url)})
        assert answer.get("token_type") == "DPoP", answer
        token: str = answer["access_token"]
        return token

    def certificate_bound_token(self, resource: str, certificate_pem: str, *,
                                client: Client = CERTIFICATE_CLIENT, scope: str = SCOPE) -> str:
        """An access token bound to ``certificate_pem`` (RFC 8705 section 3): the token
        request presents it as the provider's TLS terminator would (the harness header)."""
        answer = self._post("/token", {"grant_type": "client_credentials", "resource": resource,
                                       "scope": scope}, client,
                            extra={"X-Harness-Client-Cert": urllib.parse.quote(
                                certificate_pem, safe="")})
        assert answer.get("token_type") == "Bearer", answer
        token: str = answer["access_token"]
        return token

    def revoke(self, token: str, *, client: Client = OPAQUE_CLIENT) -> None:
        """RFC 7009: the client that holds the token revokes it."""
        self._post("/token/revocation", {"token": token, "token_type_hint": "access_token"},
                   client)

    def jwks_hits(self) -> int:
        """How often its JWK Set was fetched since it started."""
        hits: int = self.get_json("/harness/stats")["jwks_hits"]
        return hits

    def rotate(self) -> str:
        """Replace its signing key with a new one; the new ``kid``."""
        kid: str = self._post("/harness/rotate", None)["kid"]
        return kid

    def add_resource(self, indicator: str, audience: str | None = None) -> None:
        """Issue tokens for ``indicator`` too (audience: the indicator itself)."""
        self._post("/harness/resources", None,
                   body=json.dumps({indicator: audience or indicator}).encode())
        self.resources[indicator] = audience or indicator

    def issuer_entry(self) -> dict[str, Any]:
        """The ``OTC_AUTH_OAUTH_ISSUERS`` entry: the issuer alone, so discovery finds its keys."""
        return {"issuer": self.issuer}

    def introspection(self, **overrides: Any) -> dict[str, Any]:
        """The ``OTC_AUTH_OAUTH_INTROSPECTION`` setting for its endpoint."""
        return {"endpoint": self.issuer + "/token/introspection",
                "client_id": INTROSPECTOR.client_id,
                "client_secret": INTROSPECTOR.client_secret, **overrides}


def _read_line(stream: IO[str], timeout: float) -> str:
    """The first line the process prints, or "" when none comes within ``timeout``."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return stream.readline()
