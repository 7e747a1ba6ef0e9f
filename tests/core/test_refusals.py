"""One table of refusals: every refusal the package makes comes from a row of it."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from flask_otcauth.core.methods import BUILT_IN
from flask_otcauth.core.refusals import REFUSALS, AuthFailure, Refusal

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "flask_otcauth"
TABLE = PACKAGE_DIR / "core" / "refusals.py"


def calls_to(name: str) -> list[str]:
    """``file:line`` of every call of ``name`` in the package outside the table's module."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path == TABLE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == name):
                found.append(f"{path.relative_to(PACKAGE_DIR)}:{node.lineno}")
    return found


def test_no_module_builds_a_failure_but_from_a_row() -> None:
    assert calls_to("AuthFailure") == []


def test_every_row_is_declared_in_the_table_s_module() -> None:
    assert calls_to("Refusal") == []


def test_the_built_in_methods_raise_from_rows_of_the_table() -> None:
    for method in BUILT_IN:
        assert set(method.refusals) <= set(REFUSALS), method.name


def test_codes_are_unique() -> None:
    codes = [refusal.code for refusal in REFUSALS]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda refusal: refusal.code)
def test_only_a_401_or_a_refused_address_counts_as_a_failed_attempt(refusal: Refusal) -> None:
    """A refused address (issue 16: "a refused attempt from a denied address counts toward the
    failure limit") is the one 403 that counts: a stolen credential tried from elsewhere."""
    assert refusal.counts_as_failure == (refusal.status == 401
                                         or refusal.code == "ip_not_allowed")


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda refusal: refusal.code)
def test_429s_and_503s_are_logged_as_warnings_the_rest_as_info(refusal: Refusal) -> None:
    expected = logging.WARNING if refusal.status in (429, 503) else logging.INFO
    assert refusal.log_level == expected


def test_a_failure_carries_its_row_and_the_given_hint() -> None:
    row = REFUSALS[1]
    failure = row.failure("Why, for the developer.", method="jwt")
    assert isinstance(failure, AuthFailure)
    assert (failure.status, failure.code, failure.message, failure.developer_message,
            failure.method, failure.counts_as_failure) == (
        row.status, row.code, row.message, "Why, for the developer.", "jwt",
        row.counts_as_failure)


def test_a_failure_without_a_hint_gets_the_row_s_default() -> None:
    row = REFUSALS[-1]
    failure = row.failure()
    assert (failure.developer_message, failure.retry_after) == (row.hint, row.retry_after)


def test_each_failure_is_a_new_exception() -> None:
    row = REFUSALS[0]
    assert row.failure() is not row.failure()


def test_a_verified_failure_is_never_a_failed_attempt() -> None:
    """A credential that verified was sent by its holder: charged to it, never a guess."""
    failure = REFUSALS[1].failure("expired", method="jwt", verified=True, caller="jwt:agent",
                                  skew=-12.5)
    assert (failure.counts_as_failure, failure.verified, failure.caller, failure.skew) == (
        False, True, "jwt:agent", -12.5)
    assert REFUSALS[1].failure("bad signature").counts_as_failure is True
