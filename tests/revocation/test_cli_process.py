"""``flask otcauth revoke`` run as its own process against the real Redis: the app in this
process refuses the credential on its next request, without a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import API_KEY, RUN_NAMESPACE, api_key
from ..servers import REPO_ROOT
from .test_revocation import make_app

pytestmark = pytest.mark.e2e

APP = '''
from flask import Flask
from flask_otcauth import OTCAuth
import hashlib, os

app = Flask(__name__)
app.config.update(TESTING=True, OTC_AUTH_METHODS=["api_key"], OTC_AUTH_REVOCATION=True,
                  OTC_AUTH_STORAGE_URI=os.environ["REVOKE_REDIS"],
                  OTC_AUTH_STORAGE_NAMESPACE=os.environ["REVOKE_NAMESPACE"],
                  OTC_AUTH_API_KEYS=[{"id": "ci-bot", "hash": "sha256:" + "0" * 64}])
OTCAuth(app)
'''


def test_a_key_disabled_by_the_cli_is_refused_by_the_running_app(
        redis_url: str, tmp_path: Path) -> None:
    app, _ = make_app(OTC_AUTH_STORAGE_URI=redis_url, OTC_AUTH_STORAGE_NAMESPACE=RUN_NAMESPACE,
                      OTC_AUTH_API_KEY_CACHE_TTL=3600)
    client = app.test_client()
    assert client.get("/tools", headers=api_key(API_KEY)).status_code == 200
    (tmp_path / "revoking_app.py").write_text(APP)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OTC_AUTH_", "FLASK_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(tmp_path)]),
               FLASK_APP="revoking_app:app", REVOKE_REDIS=redis_url,
               REVOKE_NAMESPACE=RUN_NAMESPACE)
    done = subprocess.run(
        [sys.executable, "-m", "flask", "otcauth", "revoke", "key", "api_key", "ci-bot"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    try:
        response = client.get("/tools", headers=api_key(API_KEY))
        assert response.status_code == 401
        assert response.json is not None and response.json["error"] == "credential_revoked"
    finally:
        with app.app_context():
            app.extensions["otcauth"].unrevoke_key("api_key", "ci-bot")
