"""Tokens signed by Node's ``jsonwebtoken``, the library most agent platforms mint with.

The npm package is installed once into a cache directory (under the repository's ``.venv`` when
there is one, else the system's temporary directory), behind a file lock so that parallel runs
do not install over each other. Without node or npm the tests that need it skip with the reason,
except under ``CI=true``, where they fail (``.ci/run`` installs both).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

import pytest

PACKAGE: Final = "jsonwebtoken@9"
REPOSITORY: Final = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_SECONDS: Final = 300
# Reads {"secret": ..., "jobs": [{"payload": {...}, "options": {...}}]} on stdin and prints one
# token per job: jwt.sign(payload, secret, options), as a platform's code calls it.
_SIGN: Final = """
const jwt = require("jsonwebtoken");
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { secret, jobs } = JSON.parse(input);
  for (const job of jobs) { console.log(jwt.sign(job.payload, secret, job.options)); }
});
"""


def cache_directory() -> Path:
    venv = REPOSITORY / ".venv"
    base = venv if venv.is_dir() else Path(tempfile.gettempdir())
    return base / "otcauth-node-cache"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the Node jsonwebtoken tests must run")
    pytest.skip(f"{reason}: apt-get install nodejs npm")


@dataclass(frozen=True)
class NodeSigner:
    """Signs with the installed ``jsonwebtoken``, in one node process per batch of tokens."""

    node: str
    modules: Path

    def sign(self, secret: str, jobs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
             ) -> list[str]:
        """One token per ``(payload, options)``: ``jwt.sign(payload, secret, options)``."""
        request = json.dumps({"secret": secret, "jobs": [
            {"payload": dict(payload), "options": {"algorithm": "HS256", **options}}
            for payload, options in jobs]})
        finished = subprocess.run(  # noqa: S603 - our own script, our own input
            [self.node, "-e", _SIGN], input=request, capture_output=True, text=True,
            timeout=60, check=False, env={**os.environ, "NODE_PATH": str(self.modules)})
        if finished.returncode != 0:
            pytest.fail(f"node could not sign: {finished.stderr[-2000:]}")
        tokens = finished.stdout.split()
        assert len(tokens) == len(jobs), finished.stdout
        return tokens


def install() -> NodeSigner:
    """``npm install jsonwebtoken@9`` into the cache (once), or skip/fail saying why."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are not installed")
    prefix = cache_directory()
    prefix.mkdir(parents=True, exist_ok=True)
    modules = prefix / "node_modules"
    with (prefix / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / "jsonwebtoken" / "package.json").exists():
            try:
                finished = subprocess.run(  # noqa: S603 - npm, with a fixed package name
                    [npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix",
                     str(prefix), PACKAGE], capture_output=True, text=True, check=False,
                    timeout=INSTALL_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                _unavailable(f"npm install {PACKAGE} took over {INSTALL_TIMEOUT_SECONDS} s")
            if finished.returncode != 0:
                _unavailable(f"npm install {PACKAGE} failed: {finished.stderr.strip()[-500:]}")
    return NodeSigner(node, modules)
