"""The layers in the tree: a core that imports no Flask, a client that imports nothing of the
server, and no import cycle anywhere in the package, ``TYPE_CHECKING`` imports included."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "flask_otcauth"
FRAMEWORK = frozenset({"flask", "werkzeug", "flask_limiter", "click"})


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(folder: str = "") -> list[Path]:
    return sorted((PACKAGE_DIR / folder).rglob("*.py"))


def imports_of(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, wherever the statement stands (``TYPE_CHECKING`` blocks
    and function bodies included), relative imports resolved to absolute names."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                parent = ".".join([*base, node.module] if node.module else base)
            else:
                parent = node.module or ""
            for alias in node.names:
                candidate = f"{parent}.{alias.name}"
                # `from . import guard` names a module; `from .x import Name` names an object.
                is_module = (PACKAGE_DIR.parent / candidate.replace(".", "/")).with_suffix(
                    ".py").exists() or (PACKAGE_DIR.parent / candidate.replace(".", "/")).is_dir()
                yield candidate if is_module else parent


def package_graph() -> dict[str, set[str]]:
    return {module_name(path): {name for name in imports_of(path)
                                if name.split(".")[0] == "flask_otcauth"}
            for path in modules_under()}


@pytest.mark.parametrize("path", modules_under("core"), ids=module_name)
def test_a_core_module_imports_only_the_core_and_the_client(path: Path) -> None:
    imported = set(imports_of(path))
    own = {name for name in imported if name.split(".")[0] == "flask_otcauth"}
    assert not {name.split(".")[0] for name in imported} & FRAMEWORK
    assert all(name.startswith(("flask_otcauth.core", "flask_otcauth.client")) for name in own)


@pytest.mark.parametrize("path", modules_under("client"), ids=module_name)
def test_a_client_module_imports_nothing_of_the_server(path: Path) -> None:
    imported = set(imports_of(path))
    assert not {name.split(".")[0] for name in imported} & FRAMEWORK
    assert all(name.startswith("flask_otcauth.client") for name in imported
               if name.split(".")[0] == "flask_otcauth")


def test_the_package_has_no_import_cycle() -> None:
    graph = package_graph()
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(graph.get(module, ())):
            target = imported if imported in graph else imported.rpartition(".")[0]
            if target == module or target not in graph:
                continue
            if state.get(target) == "open":
                cycle = [*trail[trail.index(target):], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_graph_sees_type_checking_and_relative_imports() -> None:
    graph = package_graph()  # so the cycle test cannot pass by seeing nothing
    assert "flask_otcauth.extension" in graph["flask_otcauth"]  # under TYPE_CHECKING
    assert "flask_otcauth.guard" in graph["flask_otcauth.extension"]  # from . import guard
    assert "flask_otcauth.core.gate" in graph["flask_otcauth.guard"]


@pytest.mark.parametrize("module", ["flask_otcauth", "flask_otcauth.core",
                                    "flask_otcauth.client"])
def test_importing_it_loads_no_framework(module: str) -> None:
    program = (f"import sys, {module}\n"
               f"print(sorted(m for m in {sorted(FRAMEWORK)!r} if m in sys.modules))")
    finished = subprocess.run([sys.executable, "-c", program],  # noqa: S603 - our own program
                              capture_output=True, text=True, check=True, cwd=PACKAGE_DIR.parent)
    assert finished.stdout.strip() == "[]"


def test_the_flask_layer_loads_on_first_use_of_its_names() -> None:
    program = ("import sys\nfrom flask_otcauth import Identity\nprint('flask' in sys.modules)\n"
               "from flask_otcauth import OTCAuth\nprint('flask' in sys.modules)")
    finished = subprocess.run([sys.executable, "-c", program],  # noqa: S603 - our own program
                              capture_output=True, text=True, check=True, cwd=PACKAGE_DIR.parent)
    assert finished.stdout.split() == ["False", "True"]
