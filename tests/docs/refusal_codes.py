"""Every ``error`` code the extension can answer with, read from the refusal table.

The core raises every refusal from a row of ``flask_otcauth.core.refusals.REFUSALS`` or of a
built-in method's ``refusals`` (``tests/core/test_refusals.py`` proves no refusal is made any
other way), so the pages that list codes are checked against the rows, status included.
"""

from __future__ import annotations

from typing import Final

from flask_otcauth.core.methods import BUILT_IN
from flask_otcauth.core.refusals import REFUSALS, Refusal

# What the brief for the pages names outright, so a table that lost a row cannot pass.
EXPECTED: Final = frozenset({
    "missing_credentials", "invalid_token", "invalid_api_key", "invalid_signature",
    "https_required", "insufficient_scope", "rate_limited", "too_many_failed_attempts",
    "key_lookup_unavailable", "temporarily_unavailable",
})


def refusals() -> dict[str, Refusal]:
    """The rows by code: the core's table, then each built-in method's own."""
    rows = {refusal.code: refusal for refusal in REFUSALS}
    for method in BUILT_IN:
        rows.update({refusal.code: refusal for refusal in method.refusals})
    return rows


def refusal_codes() -> set[str]:
    """Every code ``flask_otcauth`` refuses requests with."""
    return set(refusals())
