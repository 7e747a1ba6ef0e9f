"""Tokens signed by Node's ``jsonwebtoken``, the library most agent platforms mint with.

The npm package is installed once by :func:`tests.node_packages.npm_install`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from .node_packages import npm_install

PACKAGE: Final = "jsonwebtoken@9"
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
    installed = npm_install(PACKAGE, purpose="Node jsonwebtoken")
    return NodeSigner(installed.node, installed.modules)
