"""Static API keys in the ``OTC-API-Key`` header (OTC 1.0, "API Key Authentication").

Keys are held only as SHA-256 digests: a configured plaintext is hashed at startup and
forgotten, so neither memory dumps of the settings nor the identity ever show it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Final

from ..exceptions import AuthFailure, invalid_credential
from ..identity import Identity, key_fingerprint, sha256
from .base import REALM, AuthRequest, checked_header_value

MAX_API_KEY_LENGTH: Final = 512
_CODE: Final = "invalid_api_key"
_MESSAGE: Final = "The API key is not valid."


class ApiKeyScheme:
    """Accepts a request whose key header carries one of the configured keys."""

    method: Final = "api_key"

    def __init__(self, digests: Iterable[bytes], headers: Iterable[str]) -> None:
        # Keyed by digest so a lookup costs one hash, whatever the number of keys.
        self._digests = {digest: digest for digest in digests}
        self._headers = tuple(headers)
        self.credential_hint = f"an API key in the {self._headers[0]} header"
        self._challenge = f'APIKey realm="{REALM}", header="{self._headers[0]}"'

    def extract(self, request: AuthRequest) -> str | None:
        found: str | None = None
        for name in self._headers:
            value = request.header(name)
            if value is None:
                continue
            if found is not None and value != found:
                raise invalid_credential(self.method, _CODE, _MESSAGE,
                                         "Send the key in one header: the key headers disagree.")
            found = value
        return found

    def verify(self, credential: str, now: float) -> Identity:
        key = checked_header_value(credential, method=self.method, code=_CODE, message=_MESSAGE,
                                   max_length=MAX_API_KEY_LENGTH)
        digest = sha256(key.encode("ascii"))
        stored = self._digests.get(digest)
        if stored is None or not hmac.compare_digest(stored, digest):
            raise invalid_credential(self.method, _CODE, _MESSAGE,
                                     f"Send a configured key in the {self._headers[0]} header.")
        return Identity(method=self.method, subject=key_fingerprint(digest))

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._challenge
