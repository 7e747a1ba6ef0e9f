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
release = version = installed_version(project)

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "config_reference",
    "api_targets",
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
# Every reference must resolve (a renamed or undocumented name fails the build), except these
# names of other projects, which the type hints mention and this site cannot link to offline.
# Names of flask_otcauth never belong here: document them (see _ext/api_targets.py).
nitpicky = True
nitpick_ignore = [
    ("py:class", name)
    for name in (
        # the standard library
        "collections.abc.Callable", "collections.abc.Generator", "collections.abc.Iterable",
        "collections.abc.Mapping", "collections.abc.Iterator", "ipaddress.IPv4Network",
        "ipaddress.IPv6Network", "datetime.tzinfo",
        # Flask and Werkzeug (the hints spell them both qualified and short)
        "Flask", "flask.app.Flask", "flask.blueprints.Blueprint", "FlaskClient", "Request",
        "Response", "werkzeug.sansio.Response", "werkzeug.sansio.response.Response",
        "werkzeug.wrappers.Response",
        # Flask-Limiter, limits, httpx, redis-py, pytest
        "Limiter", "flask_limiter._extension.Limiter", "limits.limits.RateLimitItem",
        "httpx.Request", "httpx.Response", "redis.Redis", "pytest.FixtureRequest",
        # cryptography's key classes (the tool-signing keys)
        "cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PublicKey",
        "cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PrivateKey",
        "cryptography.hazmat.primitives.asymmetric.ec.EllipticCurvePublicKey",
        "cryptography.hazmat.primitives.asymmetric.ec.EllipticCurvePrivateKey",
    )
]
