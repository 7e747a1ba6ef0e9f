"""The README documents every setting there is, and only those (the spec: document methods)."""

from __future__ import annotations

import re
from pathlib import Path

from flask_otcauth import CONFIG_KEYS
from flask_otcauth.core.settings import METHODS

from .refusal_codes import refusals

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_configuration_table_lists_exactly_the_settings() -> None:
    rows = set(re.findall(r"^\| `(OTC_AUTH_[A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert rows == {key.name for key in CONFIG_KEYS}


def test_readme_documents_every_supported_method() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \| ", README, flags=re.MULTILINE))
    assert set(METHODS) <= documented


def test_readme_names_both_commands() -> None:
    assert "`scripts/run-example`" in README
    assert "`scripts/test`" in README


def test_readme_errors_table_lists_every_refusal_with_its_status() -> None:
    rows = dict((code, int(status)) for status, code in re.findall(
        r"^\| (\d{3}) \| `([a-z_]+)` \|", README, flags=re.MULTILINE))
    assert rows == {code: refusal.status for code, refusal in refusals().items()}
