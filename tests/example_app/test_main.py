"""``python -m example_app``: arguments, dev mode, and a clean exit on a configuration error."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from example_app.__main__ import base_url, main

from .support import API_KEY


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record Flask.run instead of serving, so main can be tested without a socket."""
    recorded: list[dict[str, Any]] = []

    def fake_run(self: Flask, **options: Any) -> None:
        recorded.append({"app": self, **options})

    monkeypatch.setattr(Flask, "run", fake_run)
    return recorded


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),  # noqa: S104 - a string, nothing binds
        ("::", "http://[::1]:8000"),
        ("::1", "http://[::1]:8000"),
        ("example.test", "http://example.test:8000"),
    ],
)
def test_base_url_reaches_wildcard_binds_through_loopback(host: str, expected: str) -> None:
    assert base_url(host, 8000) == expected


def test_dev_flag_serves_with_printed_credentials_for_that_port(
    runs: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main(["--dev", "--port", "8123"])

    assert exit_code == 0
    assert runs[0]["host"] == "127.0.0.1"
    assert runs[0]["port"] == 8123
    assert runs[0]["use_reloader"] is False
    assert "http://127.0.0.1:8123/tools" in capsys.readouterr().err


def test_dev_flag_on_a_public_interface_warns(
    runs: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--dev", "--host", "0.0.0.0"])  # noqa: S104 - Flask.run is replaced, nothing binds

    assert "warning: --dev with --host 0.0.0.0" in capsys.readouterr().err
    assert len(runs) == 1


def test_configured_server_starts_without_dev_mode(
    runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OTC_AUTH_METHODS", '["api_key"]')
    monkeypatch.setenv("OTC_AUTH_API_KEYS", f'["{API_KEY}"]')

    assert main([]) == 0
    assert capsys.readouterr().err == ""
    assert len(runs) == 1


def test_missing_credentials_exit_2_with_the_reason_and_no_traceback(
    runs: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main([])

    err = capsys.readouterr().err
    assert exit_code == 2
    assert err.startswith("example_app: OTC_AUTH_METHODS enables")
    assert "python -m example_app --dev" in err
    assert "Traceback" not in err
    assert runs == []
