"""An OTC/OXP 1.0 tool server protected by flask-otcauth: the extension's worked example.

``create_app`` is the entry point for every way of running it: ``python -m example_app``,
``gunicorn 'example_app:create_app()'`` and the tests.
"""

from __future__ import annotations

from .app import auth, create_app

__all__ = ["auth", "create_app"]
