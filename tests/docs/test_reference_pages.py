"""Pages that must keep up with the code: the API reference, the version, the methods."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from flask import Flask
from sphinx.util.inventory import InventoryFile

import flask_otcauth
from flask_otcauth import OTCAuth, require_auth
from flask_otcauth.core.settings import METHODS

from ..conftest import base_config
from ..helpers import API_KEY
from .conftest import DOCS
from .refusal_codes import EXPECTED, refusal_codes, refusals

PACKAGE_VERSION = version("flask-otcauth")
REFUSAL_CODES = sorted(refusal_codes() | EXPECTED)


def inventory(built_html: Path) -> dict[str, dict[str, str]]:
    """objects.inv of the build, as {"py:class": {"flask_otcauth.OTCAuth": version}, ...}."""
    loaded = InventoryFile.loads((built_html / "objects.inv").read_bytes(), uri="")
    return {kind: {name: item.project_version for name, item in entries.items()}
            for kind, entries in loaded.data.items()}


@pytest.mark.parametrize("name", flask_otcauth.__all__)
def test_api_reference_documents_every_public_name(built_html: Path, name: str) -> None:
    documented = {entry for kind, entries in inventory(built_html).items()
                  if kind.startswith("py:") for entry in entries}

    assert f"flask_otcauth.{name}" in documented, (
        f"document flask_otcauth.{name} in docs/api.rst (under the flask_otcauth module)")


def test_docs_are_built_for_the_package_version(built_html: Path) -> None:
    versions = {entry for entries in inventory(built_html).values() for entry in entries.values()}

    assert versions == {PACKAGE_VERSION}


def test_changelog_opens_with_the_package_version() -> None:
    sections = re.findall(r"^## (\S+)", (DOCS / "changelog.md").read_text(), re.MULTILINE)

    assert sections[0] == PACKAGE_VERSION, (
        "name the changelog's first section after the version in setup.cfg")


@pytest.mark.parametrize("method", METHODS)
def test_methods_page_compares_every_method(method: str) -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \|", (DOCS / "methods.md").read_text(), re.MULTILINE)

    assert method in rows, f"add a row for {method!r} to the table in docs/methods.md"


@pytest.mark.parametrize("code", REFUSAL_CODES)
def test_clients_page_explains_every_refusal_code_with_its_status(code: str) -> None:
    rows = dict((name, int(status)) for status, name in re.findall(
        r"^\| (\d{3}) \| `([a-z_]+)` \|", (DOCS / "clients.md").read_text(), re.MULTILINE))

    assert code in rows, f"add {code!r} to the table of refusals in docs/clients.md"
    assert rows[code] == refusals()[code].status, f"docs/clients.md gives {code} another status"


def test_methods_page_shows_the_insufficient_scope_challenge_the_server_sends() -> None:
    app = Flask(__name__)
    app.config.update(base_config())
    OTCAuth(app)

    @app.get("/tools")
    @require_auth(scopes=["tools:list"])
    def tools() -> dict[str, str]:
        return {}

    response = app.test_client().get("/tools", headers={"OTC-API-Key": API_KEY})

    assert response.status_code == 403
    shown = response.headers["WWW-Authenticate"].replace('scope="tools:list"', 'scope="..."')
    assert f"`WWW-Authenticate: {shown}`" in " ".join((DOCS / "methods.md").read_text().split())
