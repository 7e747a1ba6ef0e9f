"""Pages that must keep up with the code: the API reference and the methods the server has."""

from __future__ import annotations

import re

import pytest

import flask_otcauth
from flask_otcauth.config import METHODS

from .conftest import DOCS


@pytest.mark.parametrize("name", flask_otcauth.__all__)
def test_api_reference_documents_every_public_name(name: str) -> None:
    assert re.search(rf"flask_otcauth\.{name}\b", (DOCS / "api.rst").read_text()), (
        f"add flask_otcauth.{name} to docs/api.rst")


@pytest.mark.parametrize("method", METHODS)
def test_methods_page_compares_every_method(method: str) -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \|", (DOCS / "methods.md").read_text(), re.MULTILINE)

    assert method in rows, f"add a row for {method!r} to the table in docs/methods.md"
