"""API keys in the ``OTC-API-Key`` header (OTC 1.0, "API Key Authentication").

Keys are held only as SHA-256 digests, in the records of a :class:`~..keys.KeyDirectory`: a
configured plaintext is hashed at startup and forgotten, so neither memory dumps of the settings
nor the identity ever show it. Every refusal of a key (unknown, malformed, expired, disabled, not
yet valid) has the same body, so a client cannot learn which; the reason goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final, NoReturn

from ..exceptions import AuthFailure, invalid_credential, key_lookup_unavailable
from ..identity import Identity, sha256
from ..keys import UNKNOWN, KeyDirectory, KeyLookupError, KeyRecord, is_plausible
from .base import REALM, AuthRequest, header_value_problem

logger = logging.getLogger("flask_otcauth")
MAX_API_KEY_LENGTH: Final = 512
_CODE: Final = "invalid_api_key"
_MESSAGE: Final = "The API key is not valid."
# Identities of the records in use, so an accepted key builds nothing; bounded like the
# directory's own cache of loader answers.
_MAX_IDENTITIES: Final = 10_000


class ApiKeyScheme:
    """Accepts a request whose key header carries a key with a usable record."""

    method: Final = "api_key"

    def __init__(self, keys: KeyDirectory, headers: Iterable[str]) -> None:
        self._keys = keys
        self._headers = tuple(headers)
        self.credential_hint = f"an API key in the {self._headers[0]} header"
        self._challenge = f'APIKey realm="{REALM}", header="{self._headers[0]}"'
        self._refusal_hint = f"Send a valid key in the {self._headers[0]} header."
        self._identities: dict[bytes, tuple[KeyRecord, Identity]] = {}

    def extract(self, request: AuthRequest) -> str | None:
        found: str | None = None
        for name in self._headers:
            value = request.header(name)
            if value is None:
                continue
            if found is not None and value != found:
                self._refuse("the key headers disagree", None)
            found = value
        return found

    def verify(self, credential: str, now: float) -> Identity:
        problem = header_value_problem(credential, MAX_API_KEY_LENGTH)
        if problem is not None:
            self._refuse(f"malformed ({problem})", None)
        digest = sha256(credential.encode("ascii"))
        try:
            record = self._keys.known(digest)
            if record is UNKNOWN:
                # Only the loader could tell: a key that breaks the issued format (a typo, a
                # truncation) is refused without a query.
                if not is_plausible(credential):
                    self._refuse("malformed (checksum)", None)
                record = self._keys.load(digest)
        except KeyLookupError:
            raise key_lookup_unavailable() from None
        if record is None:
            self._refuse("unknown", None)
        reason = record.refusal(now)
        if reason is not None:
            self._refuse(reason, record.id)
        return self._identity(record)

    def challenge(self, failure: AuthFailure | None) -> str:
        return self._challenge

    def _identity(self, record: KeyRecord) -> Identity:
        """The identity a record proves, built once per record (records never change)."""
        known = self._identities.get(record.digest)
        if known is not None and known[0] is record:
            return known[1]
        identity = Identity(method=self.method, subject=record.id, scopes=record.scopes,
                            tenant=record.tenant)
        if len(self._identities) >= _MAX_IDENTITIES:
            self._identities.clear()
        self._identities[record.digest] = (record, identity)
        return identity

    def _refuse(self, reason: str, record_id: str | None) -> NoReturn:
        """Every refusal of a key has one body, so a client cannot learn which check failed;
        the reason goes to the server's log only."""
        logger.info("API key refused: %s%s", reason,
                    f' (record "{record_id}")' if record_id is not None else "")
        # A new exception each time: raising one shared instance again and again would chain
        # every traceback (and its frames) onto it, a leak a flood of bad keys could grow.
        raise invalid_credential(self.method, _CODE, _MESSAGE, self._refusal_hint)
