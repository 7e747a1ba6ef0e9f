"""Independent DPoP clients (npm dpop@1, dpop@2, oauth4webapi@3) driven from a test.

:class:`NodeDPoPClient` starts ``tests/node/dpop_client.mjs`` beside the package's
``node_modules`` (an ES module resolves its imports from where it lives), reads the public key
the library generated, and sends requests it makes the proofs for; nothing of ours signs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

from .node_packages import npm_install

SCRIPT: Final = Path(__file__).parent / "node" / "dpop_client.mjs"
TIMEOUT_SECONDS: Final = 30


class NodeDPoPClient:
    """One node process holding one key of ``library`` (``dpop@1``, ``dpop@2`` or
    ``oauth4webapi@3``) for ``alg``."""

    def __init__(self, spec: str, alg: str) -> None:
        installed = npm_install(spec, purpose="DPoP peer")
        script = installed.modules.parent / SCRIPT.name
        shutil.copyfile(SCRIPT, script)
        library = spec.rpartition("@")[0]
        self._process = subprocess.Popen(  # noqa: S603 - our node, our script
            [installed.node, str(script), library, alg], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=script.parent)
        self.jwk: dict[str, Any] = self._read()["jwk"]

    def request(self, method: str, url: str, token: str) -> dict[str, Any]:
        """``{"status", "body", "nonce_retry"}`` of one request the library made a proof for."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"method": method, "url": url, "token": token})
                                  + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(TIMEOUT_SECONDS)
            assert self._process.stderr is not None
            raise AssertionError(f"the node DPoP client stopped: {self._process.stderr.read()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
