"""Every ``error`` code the extension can answer with, read from its source.

A refusal is made in one of three ways: ``AuthFailure(status, code, ...)``,
``invalid_credential(method, code, ...)`` or ``rate_limited(code, ...)``. The code is a
string literal or a module constant (``_CODE = "invalid_token"``); a code that is a parameter
is the factory's own, found at its callers. So a new code anywhere in ``flask_otcauth`` is
found here, and the pages that list codes must list it too.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Final

import flask_otcauth

PACKAGE_DIR = Path(flask_otcauth.__file__).resolve().parent
# Where the code is among each factory's positional arguments.
CODE_POSITION: Final = {"AuthFailure": 1, "invalid_credential": 1, "rate_limited": 0}
# What the brief for the pages names outright, so a scan that found nothing cannot pass.
EXPECTED: Final = frozenset({
    "missing_credentials", "invalid_token", "invalid_api_key", "invalid_signature",
    "https_required", "insufficient_scope", "rate_limited", "too_many_failed_attempts",
    "key_lookup_unavailable", "temporarily_unavailable",
})


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _codes_in(path: Path) -> set[str]:
    module = importlib.import_module(_module_name(path))
    codes = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        position = CODE_POSITION.get(node.func.id)
        if position is None or len(node.args) <= position:
            continue
        argument = node.args[position]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            codes.add(argument.value)
        elif isinstance(argument, ast.Name) and isinstance(getattr(module, argument.id, None),
                                                           str):
            codes.add(getattr(module, argument.id))
    return codes


def refusal_codes() -> set[str]:
    """Every code ``flask_otcauth`` refuses requests with."""
    return set().union(*(_codes_in(path) for path in sorted(PACKAGE_DIR.rglob("*.py"))))
