"""The challenges the attack tests expect of a refusal, and the leak check the secret scanner
runs (``assert_refused`` itself is in ``tests/helpers.py``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request, request_finished, request_started

from ..helpers import (
    API_KEY,
    HMAC_SECRET,
    JWT_SECRET,
    OLD_HMAC_SECRET,
    OLD_JWT_SECRET,
    OTHER_API_KEY,
    credential_parts,
    leaks,
    response_text,
)

CONFIGURED_SECRETS = frozenset({JWT_SECRET, OLD_JWT_SECRET, API_KEY, OTHER_API_KEY, HMAC_SECRET,
                                OLD_HMAC_SECRET})
BEARER_CHALLENGE = 'Bearer realm="otc"'
API_KEY_CHALLENGE = 'APIKey realm="otc", header="OTC-API-Key"'
# What a 401 of the default app invites: each begins one WWW-Authenticate value.
CREDENTIAL_CHALLENGES = (BEARER_CHALLENGE, API_KEY_CHALLENGE)
CREDENTIAL_HEADERS = frozenset({"authorization", "otc-api-key", "oxp-api-key", "signature"})
REFUSAL_STATUSES = frozenset({401, 403, 429})


@dataclass
class Exposure:
    """What the tests showed the outside world, and what it must never have shown."""

    secrets: set[str] = field(default_factory=lambda: set(CONFIGURED_SECRETS))
    texts: list[str] = field(default_factory=list)
    responses: int = 0
    records: int = 0
    refusals: int = 0  # responses of status 401, 403 or 429
    audit_records: int = 0  # records carrying ``record.otcauth``

    def leaks(self) -> list[str]:
        return leaks(self.texts, self.secrets)

    def unaudited_refusals(self) -> int:
        """Refusals beyond the audit records made: each refusal must leave one, or the scan of
        the log would pass for want of anything to search."""
        return max(0, self.refusals - self.audit_records)


class _Recorder(logging.Handler):
    def __init__(self, exposure: Exposure) -> None:
        super().__init__(logging.DEBUG)
        self.exposure = exposure

    def emit(self, record: logging.LogRecord) -> None:
        self.exposure.records += 1
        if hasattr(record, "otcauth"):
            self.exposure.audit_records += 1
        self.exposure.texts.append(self.format(record) + repr(vars(record)))


def _configured_secrets(app: Flask) -> set[str]:
    values: list[Any] = []
    for name in ("OTC_AUTH_JWT_SECRET", "OTC_AUTH_API_KEYS"):
        value = app.config.get(name)
        values.extend(value if isinstance(value, (list, tuple)) else [value])
    for value in (app.config.get("OTC_AUTH_HMAC_CLIENTS") or {}).values():
        values.extend(value if isinstance(value, (list, tuple)) else [value])
    return {value for value in values if isinstance(value, str) and not value.startswith("sha256:")}


@contextmanager
def scanning() -> Iterator[Exposure]:
    """Collect every response and log record of every app, and every secret they must not hold:
    the configured ones, and every value a request sent in a credential header, the query
    string, a form body or a cookie.

    The ``flask_otcauth`` logger is opened to DEBUG meanwhile, so every audit record is made.
    """
    exposure = Exposure()

    def on_request(sender: Flask, **_: Any) -> None:
        exposure.secrets |= _configured_secrets(sender)
        for name, value in request.headers.items():
            if name.lower() in CREDENTIAL_HEADERS:
                exposure.secrets |= credential_parts(value)
        request.get_data(cache=True)  # so the form is parsed from a copy the view still has
        for values in (request.args.values(), request.form.values(), request.cookies.values()):
            for value in values:
                exposure.secrets |= credential_parts(value)

    def on_response(sender: Flask, response: Response, **_: Any) -> None:
        exposure.responses += 1
        exposure.refusals += response.status_code in REFUSAL_STATUSES
        exposure.texts.append(response_text(response))

    recorder = _Recorder(exposure)
    ours = logging.getLogger("flask_otcauth")
    level = ours.level
    ours.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(recorder)
    request_started.connect(on_request)
    request_finished.connect(on_response)
    try:
        yield exposure
    finally:
        request_finished.disconnect(on_response)
        request_started.disconnect(on_request)
        logging.getLogger().removeHandler(recorder)
        ours.setLevel(level)
