"""The core verifies a request with Flask absent: the example of docs/extending.md, run in an
interpreter where importing Flask, Werkzeug, Flask-Limiter or click fails."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from ..helpers import API_KEY

REPO = Path(__file__).resolve().parents[2]
BLOCK_FRAMEWORKS = """
import sys
for name in ("flask", "werkzeug", "flask_limiter", "click"):
    sys.modules[name] = None  # import flask now raises ImportError
"""


def documented_example() -> str:
    page = (REPO / "docs" / "extending.md").read_text()
    section = page.split("## Without Flask", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "docs/extending.md's 'Without Flask' has one python example"
    return blocks[0]


def run(calls: str) -> list[object]:
    digest = "sha256:" + hashlib.sha256(API_KEY.encode()).hexdigest()
    program = (BLOCK_FRAMEWORKS + f"digest = {digest!r}\n" + documented_example() + calls)
    finished = subprocess.run([sys.executable, "-c", program],  # noqa: S603 - our own program
                              capture_output=True, text=True, cwd=REPO, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    return [json.loads(line) for line in finished.stdout.splitlines()]


def test_the_documented_example_verifies_a_key_without_flask() -> None:
    calls = (f"identity = identity_of({{'otc-api-key': {API_KEY!r}}}, '192.0.2.1')\n"
             "import json; print(json.dumps([identity.method, identity.subject]))\n")
    assert run(calls) == [["api_key", "key:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:12]]]


def test_the_documented_example_refuses_with_the_core_s_failure_without_flask() -> None:
    calls = ("import json\nfrom flask_otcauth.core import AuthFailure\n"
             "for headers in ({'otc-api-key': 'x' * 40}, {}):\n"
             "    try:\n        identity_of(headers, '192.0.2.1')\n"
             "    except AuthFailure as failure:\n"
             "        print(json.dumps([failure.status, failure.code]))\n")
    assert run(calls) == [[401, "invalid_api_key"], [401, "missing_credentials"]]
