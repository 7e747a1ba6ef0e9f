"""API keys in the ``OTC-API-Key`` header (OTC 1.0, "API Key Authentication").

Keys are held only as SHA-256 digests, in the records of a :class:`~..keys.KeyDirectory`: a
configured plaintext is hashed at startup and forgotten, so neither memory dumps of the settings
nor the identity ever show it. Every refusal of a key (unknown, malformed, expired, disabled, not
yet valid) has the same body, so a client cannot learn which; the reason goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from ..exceptions import AuthFailure, invalid_credential, key_lookup_unavailable
from ..identity import Identity, sha256
from ..keys import KeyDirectory, KeyLookupError, is_plausible
from .base import REALM, AuthRequest, checked_header_value

logger = logging.getLogger("flask_otcauth")
MAX_API_KEY_LENGTH: Final = 512
_CODE: Final = "invalid_api_key"
_MESSAGE: Final = "The API key is not valid."


class ApiKeyScheme:
    """Accepts a request whose key header carries a key with a usable record."""

    method: Final = "api_key"

    def __init__(self, keys: KeyDirectory, headers: Iterable[str]) -> None:
        self._keys = keys
        self._headers = tuple(headers)
        self.credential_hint = f"an API key in the {self._headers[0]} header"
        self._challenge = f'APIKey realm="{REALM}", header="{self._headers[0]}"'
        self._refusal_hint = f"Send a valid key in the {self._headers[0]} header."

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
        if not is_plausible(key):
            return self._refuse("malformed (checksum)", None)
        try:
            record = self._keys.lookup(sha256(key.encode("ascii")))
        except KeyLookupError:
            raise key_lookup_unavailable() from None
        if record is None:
            return self._refuse("unknown", None)
        reason = record.refusal(now)
        if reason is not None:
            return self._refuse(reason, record.id)
        return Identity(method=self.method, subject=record.id, scopes=record.scopes,
                        tenant=record.tenant)

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._challenge

    def _refuse(self, reason: str, record_id: str | None) -> Identity:
        logger.info("API key refused: %s%s", reason,
                    f' (record "{record_id}")' if record_id is not None else "")
        # A new exception each time: raising one shared instance again and again would chain
        # every traceback (and its frames) onto it, a leak a flood of bad keys could grow.
        raise invalid_credential(self.method, _CODE, _MESSAGE, self._refusal_hint)
