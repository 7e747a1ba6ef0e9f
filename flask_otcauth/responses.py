"""How a refusal looks on the wire: one JSON shape and the headers HTTP asks for."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.wrappers import Response

from .core.refusals import AuthFailure


class AuthError(HTTPException):
    """A refused request, carrying its complete JSON response.

    Being an ``HTTPException`` it can be raised from ``before_request`` or a view and Flask
    answers with exactly the response the decorator would return.
    """

    def __init__(self, failure: AuthFailure, challenges: Iterable[str] = ()) -> None:
        super().__init__(description=failure.message)
        self.code = failure.status
        self.failure = failure
        self.challenges = tuple(challenges)

    def get_response(  # type: ignore[override]  # one body whatever the caller passes
        self, environ: Any = None, scope: dict[str, Any] | None = None
    ) -> SansIOResponse:
        failure = self.failure
        response = Response(_body(failure), status=failure.status, mimetype="application/json")
        headers = response.headers
        for challenge in self.challenges:
            headers.add("WWW-Authenticate", challenge)
        for name, value in failure.headers:
            headers.add(name, value)
        if failure.retry_after is not None:
            headers.add("Retry-After", str(failure.retry_after))
        headers.add("Cache-Control", "no-store")
        return response


_MAX_BODIES: Final = 256
_bodies: dict[tuple[str, str, str], bytes] = {}


def _body(failure: AuthFailure) -> bytes:
    """The JSON body of a refusal, serialized once per distinct text: refusals come in floods
    (a scanner, a client with a stale key) and serializing costs as much as the rest of one."""
    key = (failure.code, failure.message, failure.developer_message)
    body = _bodies.get(key)
    if body is None:
        body = json.dumps({"error": failure.code, "message": failure.message,
                           "developer_message": failure.developer_message}).encode()
        if len(_bodies) >= _MAX_BODIES:
            _bodies.clear()  # texts that vary (scope names, limits): start over
        _bodies[key] = body
    return body
