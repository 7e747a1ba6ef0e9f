"""docs/security.md's attack table names real tests, and every attack test is in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SECURITY_TESTS = Path(__file__).resolve().parent
PAGE = SECURITY_TESTS.parents[1] / "docs" / "security.md"
ROW = re.compile(r"^\| .+ \| .+ \| `(test_\w+\.py)::(test_\w+)` \|$", re.MULTILINE)


def documented() -> set[tuple[str, str]]:
    return set(ROW.findall(PAGE.read_text()))


def attack_tests() -> set[tuple[str, str]]:
    found = set()
    for path in SECURITY_TESTS.glob("test_*_attacks.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.add((path.name, node.name))
    return found


def test_every_test_the_table_names_exists() -> None:
    assert documented() - attack_tests() == set()


def test_every_attack_test_is_in_the_table() -> None:
    assert attack_tests() - documented() == set()


def test_the_table_is_not_empty() -> None:
    assert len(documented()) >= 60
