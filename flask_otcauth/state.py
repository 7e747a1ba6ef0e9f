"""What the extension keeps for one app, and the one way to find it.

``init_app`` builds an :class:`AppState` and files it under the app; the guard, the decorators,
the CLI and the pytest plugin look it up with :func:`app_state`, which says what is missing in
one message when the app has no extension. The state is built once: nothing in it reads
``app.config`` again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from flask import Flask, current_app

from .core.gate import Gate
from .core.settings import Settings
from .core.storage import Storage

if TYPE_CHECKING:
    from flask_limiter import Limiter

EXTENSION_NAME: Final = "otcauth"
NOT_INITIALIZED: Final = "This app has no OTCAuth: call auth.init_app(app)."


@dataclass
class AppState:
    """Everything OTCAuth keeps for one app; built once by ``init_app``. What the request
    path reads on every request is on ``gate``, as plain attributes."""

    settings: Settings
    gate: Gate
    storage: Storage
    limiter: Limiter | None
    key_loader: Callable[[str], Any] | None
    views_checked: bool = field(default=False)


class StateHolder(Protocol):
    """The extension as the Flask layer sees it: its states by ``id(app)``."""

    states: dict[int, AppState]


def app_state(app: Flask | None = None) -> AppState:
    """The state of ``app`` (default: the current app), or :class:`RuntimeError` saying so."""
    target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    holder: StateHolder | None = target.extensions.get(EXTENSION_NAME)
    state = holder.states.get(id(target)) if holder is not None else None
    if state is None:
        raise RuntimeError(NOT_INITIALIZED)
    return state

