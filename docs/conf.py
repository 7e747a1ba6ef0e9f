"""Sphinx configuration for the flask-otcauth documentation (built with -W in CI)."""

from __future__ import annotations

import sys
from importlib.metadata import version as installed_version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

project = "flask-otcauth"
author = "the flask-otcauth developers"
copyright = "2026, the flask-otcauth developers"
# One copy of the version: setup.cfg, read back from the installed package's metadata (CI and
# scripts/test install the checkout with pip install -e, which rewrites it).
release = installed_version(project)
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "config_reference",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "flask-otcauth"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}
# Offline builds: no intersphinx inventories are fetched; references to Flask stay plain text.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False
