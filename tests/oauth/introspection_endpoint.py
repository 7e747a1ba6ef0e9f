"""The tests' RFC 7662 introspection endpoint on 127.0.0.1 and the settings that point at it:
shared by the introspection tests and the DPoP vectors (RFC 9449 section 6.2's opaque tokens).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from flask_otcauth.testing import LocalIssuer

from ..loopback_http import Answer, Form, LoopbackFormEndpoint

CLIENT_ID: Final = "tools-server"
CLIENT_SECRET: Final = "introspection-secret-7f3a9c"


class IntrospectionEndpoint(LoopbackFormEndpoint):
    """For the resource server at ``resource``: ``answers`` maps a token to its JSON answer
    (absent tokens are inactive); ``status``
    other than 200 is answered with an empty body; ``calls`` counts requests, ``requests``
    keeps (Authorization header, form, Content-Type) of each."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.answers: dict[str, dict[str, Any]] = {}
        self.status = 200
        self.calls = 0
        self.requests: list[tuple[str | None, Form, str]] = []
        super().__init__(self._answer)

    def _answer(self, headers: Mapping[str, str], form: Form) -> Answer:
        self.calls += 1
        self.requests.append((headers.get("Authorization"), form,
                              headers.get("Content-Type", "")))
        if self.status != 200:
            return self.status, None
        return 200, self.answers.get(form.get("token", [""])[0], {"active": False})

    def active(self, token: str, issuer: LocalIssuer, *, ttl: int = 300,
               **fields: Any) -> None:
        self.answers[token] = {"active": True, "iss": issuer.issuer, "aud": self.resource,
                               "exp": int(time.time()) + ttl, "sub": "alice",
                               "client_id": "agent-platform", "scope": "tools:list",
                               "token_type": "Bearer", **fields}


def introspection(endpoint: IntrospectionEndpoint, **fields: Any) -> dict[str, Any]:
    """An ``OTC_AUTH_OAUTH_INTROSPECTION`` value for ``endpoint`` (client_secret_basic)."""
    return {"endpoint": endpoint.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            **fields}
