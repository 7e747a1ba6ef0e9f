"""Scope parsing and matching, without Flask."""

from __future__ import annotations

from typing import Any

import pytest

from flask_otcauth.core.scopes import (
    ScopeError,
    grants,
    required_scopes,
    scope_challenge,
    scope_failure,
    scopes_from_claims,
)


def test_scope_claim_is_a_space_separated_string() -> None:
    assert scopes_from_claims({"scope": "tools:list  tools:call"}) == {"tools:list", "tools:call"}


def test_scp_claim_is_a_list() -> None:
    assert scopes_from_claims({"scp": ["tools:list", "tools:call"]}) == {"tools:list",
                                                                          "tools:call"}


def test_scp_claim_may_be_a_string() -> None:
    assert scopes_from_claims({"scp": "tools:list tools:call"}) == {"tools:list", "tools:call"}


def test_scope_wins_over_scp() -> None:
    assert scopes_from_claims({"scope": "tools:list", "scp": ["admin"]}) == {"tools:list"}


def test_a_token_without_scope_claims_carries_no_scope_information() -> None:
    assert scopes_from_claims({"sub": "a"}) is None  # OTC_AUTH_SCOPELESS_GRANTS decides


@pytest.mark.parametrize("claims", [{"scope": ""}, {"scp": []}, {"scp": ""}])
def test_an_empty_scope_claim_grants_nothing(claims: dict[str, object]) -> None:
    assert scopes_from_claims(claims) == frozenset()


@pytest.mark.parametrize("claims", [
    {"scope": ["tools:list"]},
    {"scope": 7},
    {"scp": {"tools:list": True}},
    {"scp": ["tools:list", 3]},
    {"scp": ['say"hi']},
])
def test_malformed_scope_claims_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(ScopeError):
        scopes_from_claims(claims)


def test_scopes_match_exactly() -> None:
    granted = frozenset({"tools:call"})

    assert grants(granted, "tools:call")
    assert not grants(granted, "tools:call:Math.Add")
    assert not grants(granted, "tools")


def test_colon_wildcard_grants_everything_below_it() -> None:
    granted = frozenset({"tools:call:*"})

    assert grants(granted, "tools:call:Math.Add")
    assert grants(granted, "tools:call:Text.Upper")
    assert not grants(granted, "tools:call")
    assert not grants(granted, "tools:list")


def test_dot_wildcard_grants_one_toolkit() -> None:
    granted = frozenset({"tools:call:Math.*"})

    assert grants(granted, "tools:call:Math.Add")
    assert not grants(granted, "tools:call:MathX.Add")
    assert not grants(granted, "tools:call:Text.Upper")


def test_a_bare_star_grants_nothing_but_itself() -> None:
    assert not grants(frozenset({"*"}), "tools:list")


def test_required_scopes_are_literal() -> None:
    with pytest.raises(ScopeError, match="wildcard"):
        required_scopes(["tools:call:*"])


def test_required_scopes_must_be_a_list() -> None:
    with pytest.raises(ScopeError, match="list"):
        required_scopes("tools:list")


def test_all_required_scopes_must_be_granted() -> None:
    failure = scope_failure(frozenset({"a"}), ("a", "b"), ())

    assert failure is not None
    assert failure.status == 403
    assert failure.code == "insufficient_scope"
    assert failure.required_scopes == ("b",)


def test_one_of_any_scopes_is_enough() -> None:
    assert scope_failure(frozenset({"b"}), (), ("a", "b")) is None
    failure = scope_failure(frozenset({"c"}), (), ("a", "b"))
    assert failure is not None
    assert failure.required_scopes == ("a", "b")


def test_the_challenge_names_the_missing_scopes() -> None:
    failure = scope_failure(frozenset(), ("a", "b"), ())
    assert failure is not None

    assert scope_challenge(failure, "otc") == (
        'Bearer realm="otc", error="insufficient_scope", scope="a b"')
