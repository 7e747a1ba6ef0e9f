"""``python -m example_app``: run the tool server on Werkzeug's development server.

For production use a WSGI server instead, e.g. ``gunicorn 'example_app:create_app()'``; this
entry point exists so that trying the example takes one command.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence
from typing import Any

from flask_otcauth import OTCAuthConfigError

from . import create_app


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m example_app", description="Run the example OTC tool server."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development mode: generate and print credentials when none are configured",
    )
    return parser.parse_args(argv)


def base_url(host: str, port: int) -> str:
    """The URL a local client uses; a wildcard bind is reached through loopback."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    config: dict[str, Any] = {"EXAMPLE_BASE_URL": base_url(args.host, args.port)}
    if args.dev:
        config["EXAMPLE_DEV_MODE"] = True
        if not _is_loopback(args.host):
            print(
                f"warning: --dev with --host {args.host} serves the network with credentials "
                "that are printed below; bind to 127.0.0.1 unless others must connect.",
                file=sys.stderr,
            )
    try:
        app = create_app(config)
    except OTCAuthConfigError as error:
        # The message names the key and the fix and never a secret; a traceback adds nothing.
        print(
            f"example_app: {error}\nFor a local trial: python -m example_app --dev", file=sys.stderr
        )
        return 2
    # No reloader: it would run create_app twice and, in dev mode, print two different keys.
    app.run(host=args.host, port=args.port, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
