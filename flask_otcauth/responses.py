"""How a refusal looks on the wire: one JSON shape and the headers HTTP asks for."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.wrappers import Response

from .exceptions import AuthFailure


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
        body = {
            "error": failure.code,
            "message": failure.message,
            "developer_message": failure.developer_message,
        }
        response = Response(json.dumps(body), status=failure.status,
                            mimetype="application/json")
        for challenge in self.challenges:
            response.headers.add("WWW-Authenticate", challenge)
        if failure.retry_after is not None:
            response.headers["Retry-After"] = str(failure.retry_after)
        response.headers["Cache-Control"] = "no-store"
        return response
