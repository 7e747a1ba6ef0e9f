"""The verification core stays free of Flask, so a scheme is testable and reusable on its own."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from flask_otcauth.authenticator import Authenticator
from flask_otcauth.exceptions import AuthFailure
from flask_otcauth.identity import sha256
from flask_otcauth.keys import KeyDirectory, plain_key_record
from flask_otcauth.schemes import ApiKeyScheme, AuthRequest, JwtScheme

from .helpers import API_KEY, JWT_SECRET, make_token

PACKAGE = Path(__file__).resolve().parent.parent / "flask_otcauth"
CORE = ["audit.py", "authenticator.py", "config.py", "exceptions.py", "identity.py",
        "keys.py", "minting.py", "openapi.py", "ratelimit.py", "scopes.py", "storage.py",
        "client.py", "signing.py",
        "schemes/__init__.py", "schemes/base.py", "schemes/api_key.py", "schemes/jwt.py",
        "schemes/jose.py", "schemes/hmac.py"]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_flask(module: str) -> None:
    assert not imported_modules(PACKAGE / module) & {"flask", "flask_limiter", "werkzeug"}


def test_schemes_verify_without_a_flask_app() -> None:
    headers = {"otc-api-key": API_KEY, "authorization": f"Bearer {make_token(sub='a')}"}
    request = AuthRequest(header=lambda name: headers.get(name.lower()))
    authenticator = Authenticator({
        "jwt": JwtScheme([JWT_SECRET.encode()], audiences=[], require_audience=False,
                         issuer=None, max_lifetime=900, leeway=0),
        "api_key": ApiKeyScheme(KeyDirectory([plain_key_record(sha256(API_KEY.encode()))]),
                                ["OTC-API-Key"]),
    })
    identity = authenticator.authenticate(request, ("jwt", "api_key"), optional=False,
                                           now=time.time())
    assert identity is not None
    assert identity.subject == "a"


def test_authenticator_raises_a_failure_for_anonymous_requests() -> None:
    authenticator = Authenticator({"api_key": ApiKeyScheme(KeyDirectory(), ["OTC-API-Key"])})
    with pytest.raises(AuthFailure) as raised:
        authenticator.authenticate(AuthRequest(header=lambda name: None), ("api_key",),
                                   optional=False, now=0.0)
    assert raised.value.status == 401
