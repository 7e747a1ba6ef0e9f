"""What the operator sees: one line on stderr per refusal and per tool request, never a secret.

The extension logs every decision on the ``flask_otcauth`` logger, at INFO (WARNING for 429s
and 503s), but a logger without a handler shows nothing below WARNING: an app that does not
configure logging sees none of its refusals. The example server routes that logger, and its
own, to stderr (gunicorn's error log, where gunicorn writes its own lines). A refusal is the
extension's audit line; an accepted request is the app's own line (tool, status, caller,
duration), so the extension's "authentication succeeded" line, which would say the same
request twice, is left out. ``EXAMPLE_LOG_REQUESTS=false`` turns the routing off, for an app
that configures logging itself.

Free of Flask, like the configuration: the app hands in the caller and the timings.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

LOGGERS: Final = ("flask_otcauth", "example_app")
FORMAT: Final = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S %z"  # gunicorn's, so the two kinds of line sort together
_MAX_CLIENT_TEXT: Final = 120


class StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record arrives, not when it was made: a
    server or a test that replaces stderr still gets the lines. Flushed per line, so a line
    is in gunicorn's log when the request is answered."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
        self.addFilter(_not_a_success)
        self.set_level_on: list[logging.Logger] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # logging's own rule: a log line never breaks a request
            self.handleError(record)


def _not_a_success(record: logging.LogRecord) -> bool:
    """Audit records of accepted requests are dropped: the app's own line reports them."""
    event = getattr(record, "otcauth", None)
    return not (isinstance(event, dict) and event.get("outcome") == "succeeded")


def route_to_stderr(enabled: bool) -> None:
    """Attach (or, ``enabled=False``, detach) the one stderr handler of this process.

    Loggers are process-wide and ``create_app`` may run many times in one process: the
    handler is attached once, whatever the number of apps. A logger whose level nobody set is
    set to INFO, and reset when the handler is detached.
    """
    loggers = [logging.getLogger(name) for name in LOGGERS]
    installed = [handler for handler in loggers[0].handlers if isinstance(handler, StderrHandler)]
    if enabled and not installed:
        handler = StderrHandler()
        for logger in loggers:
            logger.addHandler(handler)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.INFO)
                handler.set_level_on.append(logger)
    elif not enabled:
        for handler in installed:
            for logger in loggers:
                logger.removeHandler(handler)
            for logger in handler.set_level_on:
                logger.setLevel(logging.NOTSET)


def printable(text: object) -> str:
    """Client-chosen text (a tool id, a token's ``sub``) for a log line: control characters
    escaped, so it cannot forge a line, and cut short, so it cannot flood one."""
    value = str(text)
    if len(value) > _MAX_CLIENT_TEXT:
        value = value[:_MAX_CLIENT_TEXT] + "..."
    return value if value.isprintable() else repr(value)[1:-1]
