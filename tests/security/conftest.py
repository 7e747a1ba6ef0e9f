"""The secret scanner runs around every attack test: every response and log record is searched for
every configured secret and every credential a test presented, and every refusal must have left
an audit record, so the log is never searched in vain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import Exposure, scanning


@pytest.fixture(autouse=True)
def secret_scanner() -> Iterator[Exposure]:
    with scanning() as exposure:
        yield exposure
    found = exposure.leaks()
    assert not found, f"secrets in responses or log records: {found}"
    assert exposure.unaudited_refusals() == 0, (
        f"{exposure.refusals} refusals but {exposure.audit_records} audit records: the log "
        "scan searched nothing")
