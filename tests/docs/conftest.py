"""The documentation built once per run, as text and as HTML, with warnings as errors (as CI)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

DOCS = Path(__file__).resolve().parents[2] / "docs"
# The docs' own Python (the Sphinx extension, the examples) is imported as top-level modules,
# as Sphinx and a reader's shell import them.
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS / "examples")]


@pytest.fixture(scope="session")
def built_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The text build of ``docs/``; fails the tests that need it when Sphinx warns."""
    out = tmp_path_factory.mktemp("docs-text")
    status = build_main(["-W", "-E", "-q", "-b", "text", str(DOCS), str(out)])
    assert status == 0, "sphinx-build -W -b text docs failed; run it to see the warning"
    return out


@pytest.fixture(scope="session")
def built_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML build of ``docs/`` (as CI builds it), for what only it writes: objects.inv."""
    out = tmp_path_factory.mktemp("docs-html")
    status = build_main(["-W", "-E", "-q", "-b", "html", str(DOCS), str(out)])
    assert status == 0, "sphinx-build -W -b html docs failed; run it to see the warning"
    return out


def page_text(built_docs: Path, page: str) -> str:
    """A built page with its line wrapping undone, for phrase searches."""
    return " ".join((built_docs / f"{page}.txt").read_text().split())
