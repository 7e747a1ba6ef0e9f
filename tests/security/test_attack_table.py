"""docs/security.md's attack table names real tests, and every attack test is in it.

A row names an attack test of ``tests/security/`` by its file name, and a test elsewhere by its
path from the repository root (``tests/test_x.py::test_y``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SECURITY_TESTS = Path(__file__).resolve().parent
REPOSITORY = SECURITY_TESTS.parents[1]
PAGE = REPOSITORY / "docs" / "security.md"
ROW = re.compile(r"^\| .+ \| .+ \| `((?:tests/(?:\w+/)*)?test_\w+\.py)::(test_\w+)` \|$",
                 re.MULTILINE)


def documented() -> set[tuple[str, str]]:
    return set(ROW.findall(PAGE.read_text()))


def defined_tests(path: Path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text()).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test_")}


def attack_tests() -> set[tuple[str, str]]:
    return {(path.name, name) for path in SECURITY_TESTS.glob("test_*_attacks.py")
            for name in defined_tests(path)}


def exists(file: str, test: str) -> bool:
    path = REPOSITORY / file if "/" in file else SECURITY_TESTS / file
    return path.is_file() and test in defined_tests(path)


def test_every_test_the_table_names_exists() -> None:
    assert {row for row in documented() if not exists(*row)} == set()


def test_every_attack_test_is_in_the_table() -> None:
    assert attack_tests() - documented() == set()


def test_the_table_is_not_empty() -> None:
    assert len(documented()) >= 60
