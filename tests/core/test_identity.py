"""The Identity a view sees: frozen, named after the caller, never the credential."""

from __future__ import annotations

import dataclasses

import pytest

from flask_otcauth import Identity


def test_identity_is_frozen() -> None:
    identity = Identity(method="jwt", subject="agent")
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.subject = "admin"  # type: ignore[misc]


def test_scopes_default_to_empty() -> None:
    assert Identity(method="api_key").scopes == frozenset()


def test_rate_limit_key_is_the_subject_per_method() -> None:
    assert Identity(method="jwt", subject="agent").rate_limit_key == "jwt:agent"


def test_rate_limit_key_falls_back_to_the_client() -> None:
    assert Identity(method="jwt", client="otc-client").rate_limit_key == "jwt:otc-client"


def test_nameless_identity_has_no_rate_limit_key() -> None:
    assert Identity(method="none").rate_limit_key is None
