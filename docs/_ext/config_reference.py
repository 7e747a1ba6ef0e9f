"""The ``otcauth-config-reference`` directive: the configuration page, written from CONFIG_KEYS.

The page is generated rather than hand-kept so that it cannot drift from the code: a key added
to :data:`flask_otcauth.CONFIG_KEYS` appears here on the next build, and a key that
leaves its type, example, error text or refused example empty fails the build (and the tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from flask_otcauth.core.config_keys import ConfigKey
from flask_otcauth.core.settings import CONFIG_KEYS

MISSING_FIELDS_MESSAGE = ("{name} lacks {fields} in its ConfigKey (flask_otcauth/core/settings.py "
                          "or its method's module)")


def missing_fields(key: ConfigKey) -> list[str]:
    """The documentation fields ``key`` leaves empty."""
    missing = [field for field in ("meaning", "type", "wrong") if not getattr(key, field)]
    missing += [field for field in ("example", "bad_example") if getattr(key, field) is None]
    return missing


def literal(value: Any) -> str:
    """A value as it is written in ``app.config`` (Python)."""
    return repr(value)


def _field(name: str, *body: nodes.Node) -> nodes.field:
    return nodes.field("", nodes.field_name(text=name), nodes.field_body("", nodes.paragraph(
        "", "", *body)))


def key_section(key: ConfigKey) -> nodes.section:
    """One key: a section (anchor ``#otc-auth-...``), its meaning and a field list."""
    section = nodes.section(ids=[nodes.make_id(key.name)], names=[nodes.fully_normalize_name(
        key.name)])
    section += nodes.title("", "", nodes.literal(text=key.name))
    section += nodes.paragraph(text=key.meaning)
    section += nodes.field_list(
        "",
        _field("Type", nodes.Text(key.type)),
        _field("Default", nodes.literal(text=literal(key.default))),
        _field("Example", nodes.literal(text=f"{key.name} = {literal(key.example)}")),
        _field("When wrong", nodes.literal(text="init_app"), nodes.Text(" raises "),
               nodes.literal(text="OTCAuthConfigError"), nodes.Text(": " + key.wrong)),
        _field("Refused", nodes.literal(text=f"{key.name} = {literal(key.bad_example)}")),
    )
    return section


def reference_sections(keys: Iterable[ConfigKey]) -> list[nodes.section]:
    """The whole reference, or ``ValueError`` naming the keys that leave a field empty."""
    problems = [
        MISSING_FIELDS_MESSAGE.format(name=key.name, fields=", ".join(fields))
        for key in keys
        if (fields := missing_fields(key))
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return [key_section(key) for key in keys]


class ConfigReference(SphinxDirective):
    """``otcauth-config-reference`` expands to one section per ``OTC_AUTH_*`` key."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        try:
            return list(reference_sections(CONFIG_KEYS))
        except ValueError as error:
            raise self.error(str(error)) from None


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("otcauth-config-reference", ConfigReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
