"""A package adds a method for every app through the ``flask_otcauth.methods`` entry point: an
installed distribution (a real ``.dist-info`` on the path of a fresh interpreter) declares
docs/examples/header_token.py's method, and an app enables it without registering it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import DOCS

TOKEN = "tool-token-" + "Zx8Cv" * 8
PROGRAM = """
import json
from flask import Flask
from flask_otcauth import OTCAuth, current_identity, require_auth

app = Flask(__name__)
app.config.update(TESTING=True, OTC_AUTH_METHODS=["header_token"],
                  OTC_AUTH_HEADER_TOKENS={"ci": DIGEST})
auth = OTCAuth(app)

@app.get("/tools")
@require_auth
def tools():
    return {"subject": current_identity.subject}

client = app.test_client()
print(json.dumps([[method.name for method in auth.methods],
                  client.get("/tools", headers={"X-Tool-Token": TOKEN}).json,
                  client.get("/tools").status_code]))
"""


def installed_distribution(site: Path) -> None:
    info = site / "toy_methods-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-methods\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[flask_otcauth.methods]\nheader_token = header_token:HEADER_TOKEN\n")


def test_an_installed_method_is_known_to_every_app(tmp_path: Path) -> None:
    installed_distribution(tmp_path)
    digest = "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()
    program = f"DIGEST = {digest!r}\nTOKEN = {TOKEN!r}\n" + PROGRAM
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(DOCS / "examples"), str(DOCS.parent)])}
    finished = subprocess.run([sys.executable, "-c", program],  # noqa: S603 - our own program
                              capture_output=True, text=True, env=env, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert json.loads(finished.stdout) == [
        ["api_key", "jwt", "hmac", "oauth", "mtls", "header_token"], {"subject": "ci"}, 401]
