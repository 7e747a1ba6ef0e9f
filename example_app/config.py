"""Where the example server's settings come from, and the throwaway credentials of dev mode.

Free of Flask so the precedence rules and the banner are tested as plain functions. The
extension validates the ``OTC_AUTH_*`` values itself; this module only gathers them, which is
why the app's own settings use the ``EXAMPLE_`` prefix: the extension refuses unknown
``OTC_AUTH_*`` keys.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from flask_otcauth import generate_key, hash_key

ENV_PREFIXES: Final = ("OTC_AUTH_", "EXAMPLE_")
DEFAULTS: Final[Mapping[str, Any]] = {
    "EXAMPLE_DEV_MODE": False,
    # One line on stderr per refusal and per tool request (example_app/logs.py); false for an
    # app that routes the flask_otcauth and example_app loggers itself.
    "EXAMPLE_LOG_REQUESTS": True,
    # Only used to print working commands in dev mode; the server never trusts it for routing.
    "EXAMPLE_BASE_URL": "http://127.0.0.1:8000",
    # A tool call is a small JSON object; refusing big bodies early bounds parsing work.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # The OTC spec has no scopes, so a spec client's token ({"aud": ..., "exp": ...}) or plain
    # key carries none: this server lets such a credential list and call every tool, as the
    # spec expects. Credentials that do carry scopes are held to them; set it to [] for least
    # privilege (docs/security-model.md).
    "OTC_AUTH_SCOPELESS_GRANTS": ["tools:list", "tools:call:*"],
    # Budgets against denial-of-wallet (docs/budgets.md): what a tool call costs a caller
    # with a budget (a key record's "budget", a token's token_budget claim); others pay
    # nothing. Text.Stats stands for the expensive tool.
    "OTC_AUTH_TOOL_COSTS": {"Text.Stats": 2},
    "OTC_AUTH_BUDGET_CLAIM": "token_budget",
}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})
_ALL_METHODS: Final = frozenset({"jwt", "api_key"})
_DEV_TOKEN_SECONDS: Final = 300
DEV_SCOPES: Final = ("tools:list", "tools:call:*")
"""What dev credentials may do: list and call every tool."""
DEV_TENANT: Final = "dev"
DEV_BUDGET: Final = 1000
"""The dev key's tenant and its budget of units a day (GET /tenants/dev/usage shows it)."""


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``OTC_AUTH_*`` and ``EXAMPLE_*`` variables, parsed like Flask's ``from_prefixed_env``.

    Values are JSON when they parse as JSON (so lists and booleans can be written in a shell:
    ``OTC_AUTH_API_KEYS='["..."]'``) and plain strings otherwise. Unlike Flask, keys keep their
    prefix, because ``OTC_AUTH_*`` is the name the extension reads.
    """
    loaded: dict[str, Any] = {}
    for key in sorted(environ):
        if not key.startswith(ENV_PREFIXES):
            continue
        value = environ[key]
        try:
            loaded[key] = json.loads(value)
        except ValueError:
            loaded[key] = value
    return loaded


def as_flag(value: object, name: str) -> bool:
    """A boolean setting, refusing anything ambiguous.

    ``bool("false")`` is ``True``, and this flag prints credentials: a typo must stop the
    server, not silently switch dev mode on.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{name} must be true or false, got {value!r}.")


@dataclass(frozen=True)
class DevCredentials:
    """Credentials generated for one dev-mode run; ``None`` for a method that is not enabled."""

    api_key: str | None
    jwt_secret: str | None

    def settings(self) -> dict[str, Any]:
        """The ``OTC_AUTH_*`` keys that make the extension accept these credentials."""
        generated: dict[str, Any] = {}
        if self.api_key is not None:
            generated["OTC_AUTH_API_KEYS"] = [
                {"id": "dev", "hash": hash_key(self.api_key), "scopes": list(DEV_SCOPES),
                 "tenant": DEV_TENANT, "budget": DEV_BUDGET}]
        if self.jwt_secret is not None:
            generated["OTC_AUTH_JWT_SECRET"] = self.jwt_secret
        return generated


def _enabled_methods(config: Mapping[str, Any]) -> frozenset[str]:
    """The methods to generate credentials for; the extension reports invalid values itself."""
    methods = config.get("OTC_AUTH_METHODS")
    if isinstance(methods, str):
        return frozenset({methods})
    if isinstance(methods, (list, tuple)):
        return frozenset(method for method in methods if isinstance(method, str))
    return _ALL_METHODS


def oauth_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """What turns ``oauth`` on: ``OTC_AUTH_OAUTH_ISSUERS`` set (with ``OTC_AUTH_OAUTH_RESOURCE``).

    ``"oauth"`` joins ``OTC_AUTH_METHODS``; when those are not set, the methods are ``oauth``
    and whichever of ``jwt`` and ``api_key`` has credentials configured, so an identity
    provider alone is enough. The metadata advertises this server's scopes unless
    ``OTC_AUTH_OAUTH_SCOPES_SUPPORTED`` says otherwise. Nothing changes without issuers.
    """
    if not config.get("OTC_AUTH_OAUTH_ISSUERS"):
        return {}
    methods = config.get("OTC_AUTH_METHODS")
    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, (list, tuple)):
        methods = [name for name, key in (("jwt", "OTC_AUTH_JWT_SECRET"),
                                          ("api_key", "OTC_AUTH_API_KEYS")) if config.get(key)]
    methods = list(methods)
    if "oauth" not in methods and "none" not in methods:
        methods.append("oauth")
    added: dict[str, Any] = {"OTC_AUTH_METHODS": methods}
    if "OTC_AUTH_OAUTH_SCOPES_SUPPORTED" not in config:
        added["OTC_AUTH_OAUTH_SCOPES_SUPPORTED"] = list(DEV_SCOPES)
    return added


def dev_credentials(config: Mapping[str, Any]) -> DevCredentials | None:
    """Fresh credentials when none are configured, else ``None``: configured ones always win.

    Generated only for enabled methods, so the banner never advertises a credential the
    server would refuse, and not at all when authentication is off.
    """
    if config.get("OTC_AUTH_API_KEYS") or config.get("OTC_AUTH_JWT_SECRET"):
        return None
    methods = _enabled_methods(config)
    if not methods & _ALL_METHODS:
        return None
    return DevCredentials(
        api_key=generate_key("test") if "api_key" in methods else None,
        jwt_secret=secrets.token_urlsafe(48) if "jwt" in methods else None,
    )


def dev_signing_key_file(config: Mapping[str, Any]) -> dict[str, Any]:
    """A tool-signing key for this run when signing is on and no key file is configured.

    The extension generates keys itself only under ``DEBUG`` or ``TESTING``, which dev mode
    does not set (``DEBUG`` would start Werkzeug's debugger). The key goes to a file only this
    user can read, in a folder of its own that :func:`remove_dev_signing_key` deletes as soon
    as ``init_app`` has read it, so no key outlives the run however the process ends.
    """
    if config.get("OTC_AUTH_TOOL_SIGNING") is not True or config.get(
            "OTC_AUTH_TOOL_SIGNING_KEY_FILE"):
        return {}
    folder = tempfile.mkdtemp(prefix="example-app-tool-key-")
    path = os.path.join(folder, "tool-signing.pem")
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return {"OTC_AUTH_TOOL_SIGNING_KEY_FILE": path}


def remove_dev_signing_key(settings: Mapping[str, Any]) -> None:
    """Delete the folder :func:`dev_signing_key_file` made (the extension holds the key)."""
    path = settings.get("OTC_AUTH_TOOL_SIGNING_KEY_FILE")
    if isinstance(path, str):
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def mint_command(secret: str, audience: str | None, lifetime: int = _DEV_TOKEN_SECONDS) -> str:
    """A shell command printing a JWT this server accepts, using the interpreter running it."""
    claims = (f'"sub": "dev", "scope": {json.dumps(" ".join(DEV_SCOPES))}, '
              f'"exp": int(time.time()) + {lifetime}')
    if audience is not None:
        claims += f', "aud": {json.dumps(audience)}'
    code = f'import jwt, time; print(jwt.encode({{{claims}}}, "{secret}", algorithm="HS256"))'
    return shlex.join([sys.executable, "-c", code])


def mint_token(secret: str, audience: str | None, lifetime: int = _DEV_TOKEN_SECONDS) -> str:
    """The token :func:`mint_command` would print, minted now: a first request needs no step."""
    claims: dict[str, Any] = {"sub": "dev", "scope": " ".join(DEV_SCOPES),
                              "exp": int(time.time()) + lifetime}
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def _audience(config: Mapping[str, Any]) -> str | None:
    """The audience dev tokens carry: a token with ``aud`` must name an allowed client."""
    audiences = config.get("OTC_AUTH_JWT_AUDIENCES")
    if isinstance(audiences, str):
        return audiences
    if isinstance(audiences, (list, tuple)) and audiences:
        return str(audiences[0])
    return None


def _token_lifetime(config: Mapping[str, Any]) -> int:
    """Dev tokens' lifetime, shortened when the server refuses tokens that live as long."""
    max_lifetime = config.get("OTC_AUTH_JWT_MAX_LIFETIME")
    if isinstance(max_lifetime, int) and 0 < max_lifetime < _DEV_TOKEN_SECONDS:
        return max_lifetime
    return _DEV_TOKEN_SECONDS


def dev_banner(credentials: DevCredentials, config: Mapping[str, Any]) -> str:
    """What a developer needs to make a first authenticated request, ready to paste.

    The one place the example shows a secret: these are throwaway credentials for this run,
    and printing them is the point of dev mode.
    """
    tools_url = str(config.get("EXAMPLE_BASE_URL", DEFAULTS["EXAMPLE_BASE_URL"])).rstrip("/")
    tools_url += "/tools"
    lines = [
        "=" * 72,
        "example_app DEVELOPMENT MODE: no credentials were configured, so these were generated",
        "for this run only. Never use dev mode on a host others can reach.",
        f"Both may list and call every tool (scopes: {' '.join(DEV_SCOPES)}) but",
        "Math.Evaluate, which needs an OAuth token of a recent strong sign-in (RFC 9470).",
        "",
    ]
    if credentials.api_key is not None:
        header = f"OTC-API-Key: {credentials.api_key}"
        lines += [
            f"API key:    {credentials.api_key}",
            "List tools with it:",
            "  " + shlex.join(["curl", "-H", header, tools_url]),
            f"It spends a budget of {DEV_BUDGET} units a day (Text.Stats costs 2); what is left:",
            "  " + shlex.join(["curl", tools_url.removesuffix("/tools")
                               + f"/tenants/{DEV_TENANT}/usage", "-H", header]),
            "",
        ]
    if credentials.jwt_secret is not None:
        audience, lifetime = _audience(config), _token_lifetime(config)
        token = mint_token(credentials.jwt_secret, audience, lifetime)
        lines += [
            f"JWT secret: {credentials.jwt_secret}",
            f"List tools with a token valid for {lifetime} s:",
            "  " + shlex.join(["curl", "-H", f"Authorization: Bearer {token}", tools_url]),
            "Mint a fresh token when it expires:",
            f"  TOKEN=$({mint_command(credentials.jwt_secret, audience, lifetime)})",
            f'  curl -H "Authorization: Bearer $TOKEN" {shlex.quote(tools_url)}',
            "",
        ]
    lines.append("=" * 72)
    return "\n".join(lines)
