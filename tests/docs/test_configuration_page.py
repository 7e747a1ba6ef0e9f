"""The configuration page is CONFIG_KEYS: every key documented in full, and nothing invented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from config_reference import literal, missing_fields

from flask_otcauth import CONFIG_KEYS
from flask_otcauth.config import ConfigKey, load_settings

from ..conftest import base_config
from .conftest import page_text


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_every_key_has_type_example_and_error(key: ConfigKey) -> None:
    assert missing_fields(key) == [], (
        f"{key.name} in flask_otcauth/config.py CONFIG_KEYS needs type=, example= and wrong=")


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_every_example_is_a_value_the_settings_accept(key: ConfigKey) -> None:
    load_settings(base_config(**{key.name: key.example}))


def test_configuration_page_documents_every_key(built_docs: Path) -> None:
    # Without any whitespace: the text builder wraps, and breaks long values, anywhere.
    text = "".join(page_text(built_docs, "configuration").split())

    for key in CONFIG_KEYS:
        for shown in (key.meaning, key.type, literal(key.default),
                      f"{key.name} = {literal(key.example)}", key.wrong):
            assert "".join(shown.split()) in text, f"{key.name}: {shown!r} is not on the page"


def test_configuration_page_documents_no_other_key(built_docs: Path) -> None:
    text = page_text(built_docs, "configuration")

    headings = set(re.findall(r'"(OTC_AUTH_[A-Z_]+)" =+', text))
    assert headings == {key.name for key in CONFIG_KEYS}


def test_missing_fields_names_what_a_key_leaves_empty() -> None:
    bare = ConfigKey("OTC_AUTH_NEW", None, "Something new.")

    assert missing_fields(bare) == ["type", "wrong", "example"]
