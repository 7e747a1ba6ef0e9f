"""``flask otcauth ...`` run as the shell runs it, against apps that refuse their configuration.

Loading the app is Flask's ``ScriptInfo.load_app``: it calls the factory (or imports the
module), whose ``init_app`` raises ``OTCAuthConfigError`` before any command code runs. Every
command of the group must answer it with ``check``'s one ``error: ...`` line and exit code 1,
never a traceback. These run ``python -m flask`` as a real process, from the repository root,
so the copy of ``flask_otcauth`` under test is the one imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flask_otcauth.cli import otcauth_cli

from ..helpers import API_KEY
from ..servers import REPO_ROOT

pytestmark = pytest.mark.e2e

# Each command of the group, with arguments that would make it succeed on a sound app.
COMMAND_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "generate-key": (),
    "hash-key": (),
    "mint-token": ("--sub", "agent"),
    "check": (),
    "revoke": ("key", "api_key", "ci-bot"),
}
READS_THE_APP = ("mint-token", "check", "revoke")
MODULE_LEVEL_APP = '''
from flask import Flask
from flask_otcauth import OTCAuth

app = Flask(__name__)
app.config["OTC_AUTH_METHODS"] = ["jwt"]
app.config["OTC_AUTH_JWT_SECRET"] = "too-short"
OTCAuth(app)
'''


def flask_otcauth(command: str, flask_app: str, cwd: Path,
                  stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OTC_AUTH_", "EXAMPLE_", "FLASK_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(cwd)])
    env["FLASK_APP"] = flask_app
    return subprocess.run(  # noqa: S603 - our interpreter, a fixed command line
        [sys.executable, "-m", "flask", "otcauth", command, *COMMAND_ARGUMENTS[command]],
        cwd=REPO_ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60,
        check=False)


def test_the_table_names_every_command_of_the_group() -> None:
    assert set(COMMAND_ARGUMENTS) == set(otcauth_cli.commands)


@pytest.mark.parametrize("command", READS_THE_APP)
def test_a_factory_refusing_its_configuration_is_one_error_line(
    command: str, tmp_path: Path
) -> None:
    """The example server in production mode without secrets: its factory raises."""
    done = flask_otcauth(command, "example_app:create_app()", tmp_path)

    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: OTC_AUTH_METHODS enables ")
    assert "OTC_AUTH_" in line


@pytest.mark.parametrize("command", READS_THE_APP)
def test_a_module_refusing_its_configuration_on_import_is_one_error_line(
    command: str, tmp_path: Path
) -> None:
    (tmp_path / "misconfigured.py").write_text(MODULE_LEVEL_APP)

    done = flask_otcauth(command, "misconfigured", tmp_path)

    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: OTC_AUTH_JWT_SECRET is 9 bytes; ")
    assert "too-short" not in line


@pytest.mark.parametrize("command", sorted(set(COMMAND_ARGUMENTS) - set(READS_THE_APP)))
def test_commands_that_read_no_app_work_beside_a_misconfigured_one(
    command: str, tmp_path: Path
) -> None:
    done = flask_otcauth(command, "example_app:create_app()", tmp_path, stdin=API_KEY)

    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr
