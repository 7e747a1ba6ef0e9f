"""The JSON body of a request, for the checks that look inside it before the view runs.

A tool call names its tool in the body (``OTC_AUTH_TOOL_SCOPES``, a policy's ``tool:`` ids)
and a tenant-scoped view may name its tenant there (``tenant_from="body:..."``). Both read it
through here, under one rule: a body of unknown length (chunked) or above
``MAX_CONTENT_LENGTH`` (:data:`BODY_LIMIT` when the app sets none) is not read, so no caller
makes a check buffer more than the view itself would accept. ``get_json`` keeps the bytes and
the parsed value on the request, so the checks and the view share one parse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from flask import Request

__all__ = ["BODY_LIMIT", "checked_json", "readable"]

BODY_LIMIT: Final = 1024 * 1024
"""Bytes of a body the checks read when ``MAX_CONTENT_LENGTH`` is unset."""


def readable(current: Request) -> bool:
    """Whether the checks read the body: of known length, within the limit."""
    length = current.content_length
    return length is not None and length <= (current.max_content_length or BODY_LIMIT)


def checked_json(current: Request) -> Any:
    """The parsed JSON body, or ``None`` when it is not JSON or not :func:`readable`."""
    return current.get_json(silent=True) if readable(current) else None
