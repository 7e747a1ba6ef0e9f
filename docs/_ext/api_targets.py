"""Resolve the names the code itself writes short to the API reference's own entries.

Type hints that stay strings (``Requirement``, ``KeyLoader``) and docstrings of submodules
(``:class:`OTCAuthConfigError``` in :mod:`flask_otcauth.storage`) name objects of this package
without the path the reference files them under. With ``nitpicky = True`` such a name must
still lead somewhere: it resolves to the one documented ``flask_otcauth`` object that has it
as its last component (an exact ``flask_otcauth.*`` target resolves to itself, whatever its
role). Any other unresolved name stays a warning, and so fails the build; external names are
listed in ``nitpick_ignore`` in ``conf.py``.
"""

from __future__ import annotations

from typing import Any, cast

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.domains.python import PythonDomain
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import make_refnode

PACKAGE = "flask_otcauth"


def own_target(domain: PythonDomain, target: str) -> str | None:
    """The documented ``flask_otcauth`` object ``target`` means, if exactly one fits."""
    objects = domain.objects
    if target.startswith(PACKAGE + ".") and target in objects:
        return target
    if "." in target and not target.startswith(PACKAGE + "."):
        return None  # another package's name: for nitpick_ignore, never guessed at
    short = target.rsplit(".", 1)[-1]
    matches = [name for name, entry in objects.items()
               if name.startswith(PACKAGE + ".") and name.rsplit(".", 1)[-1] == short
               and not entry.aliased]
    return matches[0] if len(matches) == 1 else None


def resolve(app: Sphinx, env: BuildEnvironment, node: pending_xref,
            contnode: nodes.TextElement) -> nodes.reference | None:
    if node.get("refdomain") != "py":
        return None
    domain = cast(PythonDomain, env.get_domain("py"))
    name = own_target(domain, node["reftarget"])
    if name is None:
        return None
    entry = domain.objects[name]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", resolve)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
