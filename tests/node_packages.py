"""npm packages the tests run as independent implementations (jsonwebtoken, jose, dpop, ...).

Each package spec is installed once into a folder of its own under a cache directory (under the
repository's ``.venv`` when there is one, else the system's temporary directory), so that one
``npm install --no-save`` never prunes what another installed, behind a file lock so that
parallel runs do not install over each other. Without node or npm the tests that need a package
skip with the reason, except under ``CI=true``, where they fail (``.ci/run`` installs both).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn

import pytest

REPOSITORY: Final = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_SECONDS: Final = 300


def cache_directory() -> Path:
    venv = REPOSITORY / ".venv"
    base = venv if venv.is_dir() else Path(tempfile.gettempdir())
    return base / "otcauth-node-cache"


def unavailable(reason: str, purpose: str) -> NoReturn:
    """Skip saying why, or fail under ``CI=true``, where every peer must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the {purpose} tests must run")
    pytest.skip(f"{reason} (needed by the {purpose} tests): apt-get install nodejs npm")


@dataclass(frozen=True)
class NodeModules:
    """Where an installed package lives, and the node that runs it."""

    node: str
    modules: Path

    def environment(self) -> dict[str, str]:
        """The environment for ``node``: ours plus ``NODE_PATH`` (CommonJS ``require``)."""
        return {**os.environ, "NODE_PATH": str(self.modules)}


def _package_name(spec: str) -> str:
    """``jose@5`` -> ``jose``; ``@scope/name@2`` -> ``@scope/name``."""
    at = spec.rfind("@")
    return spec[:at] if at > 0 else spec


def npm_install(*specs: str, purpose: str) -> NodeModules:
    """``npm install <specs>`` into their own cached folder (once), or skip/fail saying why.

    Packages asked for together share one ``node_modules``: an ES module imports its peers
    from the folder it lives in, not through ``NODE_PATH``.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are not installed", purpose)
    folder = "+".join(re.sub(r"[^A-Za-z0-9._-]", "_", spec) for spec in specs)
    prefix = cache_directory() / folder
    prefix.mkdir(parents=True, exist_ok=True)
    modules = prefix / "node_modules"
    with (prefix / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [spec for spec in specs
                   if not (modules / _package_name(spec) / "package.json").exists()]
        if missing:
            shown = " ".join(specs)
            try:
                finished = subprocess.run(  # noqa: S603 - npm, with fixed package names
                    [npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix",
                     str(prefix), *specs], capture_output=True, text=True, check=False,
                    timeout=INSTALL_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                unavailable(f"npm install {shown} took over {INSTALL_TIMEOUT_SECONDS} s", purpose)
            if finished.returncode != 0:
                unavailable(f"npm install {shown} failed: {finished.stderr.strip()[-500:]}",
                            purpose)
    return NodeModules(node, modules)
