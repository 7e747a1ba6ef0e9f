"""The configuration page is CONFIG_KEYS: every key documented in full, and nothing invented.

What the page says of each key is tried against the code: its default is what an unset key
loads, its example is accepted and its refused example makes ``init_app`` fail naming the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from config_reference import literal, missing_fields
from flask import Flask

from flask_otcauth import CONFIG_KEYS, OTCAuth, OTCAuthConfigError
from flask_otcauth.core.settings import ConfigKey, load_settings

from ..conftest import base_config
from ..helpers import API_KEY, JWT_SECRET
from .conftest import page_text

# The smallest valid configuration, and one for each key it cannot leave out itself.
MINIMAL_CONFIG: dict[str, Any] = {"OTC_AUTH_METHODS": ["api_key"], "OTC_AUTH_API_KEYS": [API_KEY]}
MINIMAL_CONFIG_WITHOUT: dict[str, dict[str, Any]] = {
    # The default methods, jwt and api_key, need a secret and a key.
    "OTC_AUTH_METHODS": {"OTC_AUTH_JWT_SECRET": JWT_SECRET, "OTC_AUTH_API_KEYS": [API_KEY]},
    "OTC_AUTH_API_KEYS": {"OTC_AUTH_METHODS": ["jwt"], "OTC_AUTH_JWT_SECRET": JWT_SECRET},
}


def minimal_config_without(name: str) -> dict[str, Any]:
    config = MINIMAL_CONFIG_WITHOUT.get(name, MINIMAL_CONFIG)
    assert name not in config
    return dict(config)


def named(name: str) -> str:
    """A pattern for ``name`` as a whole key: OTC_AUTH_RATELIMIT is not OTC_AUTH_RATELIMIT_..."""
    return re.escape(name) + r"(?![A-Z_])"


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_every_key_has_type_example_and_error(key: ConfigKey) -> None:
    assert missing_fields(key) == [], (
        f"{key.name} in flask_otcauth/config.py CONFIG_KEYS needs type=, example=, wrong= and "
        "bad_example=")


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_every_documented_default_is_what_an_unset_key_loads(key: ConfigKey) -> None:
    config = minimal_config_without(key.name)

    assert load_settings({**config, key.name: key.default}) == load_settings(config), (
        f"{key.name}: setting the documented default {key.default!r} loads other settings than "
        "leaving the key unset; fix default= in flask_otcauth/config.py CONFIG_KEYS")


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_every_example_is_a_value_the_settings_accept(key: ConfigKey) -> None:
    load_settings(base_config(**{key.name: key.example}))


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_init_app_refuses_every_bad_example_naming_its_key(key: ConfigKey) -> None:
    app = Flask(__name__)
    app.config.update(base_config(**{key.name: key.bad_example}))

    with pytest.raises(OTCAuthConfigError, match=named(key.name)):
        OTCAuth().init_app(app)


def test_configuration_page_documents_every_key(built_docs: Path) -> None:
    # Without any whitespace: the text builder wraps, and breaks long values, anywhere.
    text = "".join(page_text(built_docs, "configuration").split())

    for key in CONFIG_KEYS:
        for shown in (key.meaning, key.type, literal(key.default),
                      f"{key.name} = {literal(key.example)}", key.wrong,
                      f"{key.name} = {literal(key.bad_example)}"):
            assert "".join(shown.split()) in text, f"{key.name}: {shown!r} is not on the page"


def test_configuration_page_documents_no_other_key(built_docs: Path) -> None:
    text = page_text(built_docs, "configuration")

    headings = set(re.findall(r'"(OTC_AUTH_[A-Z_]+)" =+', text))
    assert headings == {key.name for key in CONFIG_KEYS}


def test_missing_fields_names_what_a_key_leaves_empty() -> None:
    bare = ConfigKey("OTC_AUTH_NEW", None, "Something new.")

    assert missing_fields(bare) == ["type", "wrong", "example", "bad_example"]
