"""A complete authentication method in one file: a named token in a header of its own.

``OTC_AUTH_HEADER_TOKENS`` maps a caller's name to the SHA-256 digest of its token; a caller
sends ``X-Tool-Token: <token>``. Register it before ``init_app`` and enable it like any other::

    auth = OTCAuth()
    auth.register_method(HEADER_TOKEN)
    app.config["OTC_AUTH_METHODS"] = ["header_token"]
    auth.init_app(app)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from flask_otcauth import (
    AuthFailure,
    AuthMethod,
    AuthRequest,
    ConfigKey,
    Identity,
    OTCAuthConfigError,
    Refusal,
    Report,
    Setup,
    TestRequest,
)

HEADER: Final = "X-Tool-Token"
INVALID_HEADER_TOKEN: Final = Refusal(
    "invalid_header_token", 401, "The tool token is not valid.",
    f"Send a valid token in the {HEADER} header.", counts_as_failure=True)


def _digests(value: Any, name: str) -> dict[str, bytes]:
    """``{"caller": "sha256:<hex>"}`` -> caller name by digest; never quotes a digest."""
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f'{name} must map caller names to "sha256:<hex>" digests.')
    digests = {}
    for caller, digest in value.items():
        text = digest.removeprefix("sha256:") if isinstance(digest, str) else ""
        if len(text) != 64 or not digest.startswith("sha256:") or text != text.lower():
            raise OTCAuthConfigError(f'{name}["{caller}"] must be "sha256:" and 64 lowercase '
                                     "hex digits.")
        digests[str(caller)] = bytes.fromhex(text)
    return digests


TOKENS_KEY: Final = ConfigKey(
    "OTC_AUTH_HEADER_TOKENS", {}, "Callers by name, each with the SHA-256 of its token.",
    type='dict[str, str]: caller -> "sha256:<hex>"', example={"ci": "sha256:" + "ab" * 32},
    wrong='Not a mapping of names to "sha256:<64 lowercase hex>" digests.',
    bad_example={"ci": "not-a-digest"}, parse=_digests)


@dataclass(frozen=True)
class HeaderTokenSettings:
    digests: Mapping[str, bytes]


class HeaderTokenScheme:
    """The per-app work: find the header, compare digests in constant time."""

    method: Final = "header_token"
    credential_hint: Final = f"a token in the {HEADER} header"

    def __init__(self, digests: Mapping[str, bytes]) -> None:
        self._callers = {digest: caller for caller, digest in digests.items()}

    def extract(self, request: AuthRequest) -> str | None:
        return request.header(HEADER)

    def verify(self, credential: str, now: float) -> Identity:
        digest = hashlib.sha256(credential.encode("utf-8", "surrogateescape")).digest()
        caller = self._callers.get(digest)  # a lookup by digest: nothing to time
        if caller is None:
            raise INVALID_HEADER_TOKEN.failure(method=self.method)
        return Identity(method=self.method, subject=caller)

    def challenge(self, failure: AuthFailure | None) -> str:
        return f'HeaderToken realm="otc", header="{HEADER}"'


class HeaderTokenMethod(AuthMethod[HeaderTokenSettings]):
    name = "header_token"
    keys = (TOKENS_KEY,)
    refusals = (INVALID_HEADER_TOKEN,)

    def read_settings(self, values: Callable[[ConfigKey], Any], context: Mapping[str, Any]
                      ) -> HeaderTokenSettings:
        return HeaderTokenSettings(values(TOKENS_KEY))

    def check_enabled(self, settings: HeaderTokenSettings, context: Mapping[str, Any]) -> None:
        if not settings.digests:
            raise OTCAuthConfigError('OTC_AUTH_METHODS enables "header_token" but '
                                     "OTC_AUTH_HEADER_TOKENS is empty: add a caller.")

    def secrets(self, settings: HeaderTokenSettings) -> Iterable[tuple[str, bytes]]:
        return ((f'OTC_AUTH_HEADER_TOKENS["{caller}"]', digest)
                for caller, digest in settings.digests.items())

    def build(self, settings: HeaderTokenSettings, setup: Setup) -> HeaderTokenScheme:
        return HeaderTokenScheme(settings.digests)

    def security_scheme(self, settings: HeaderTokenSettings) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": HEADER,
                "description": "A named caller's token; refused with 401 when unknown."}

    def describe(self, settings: HeaderTokenSettings, report: Report) -> None:
        report.lines.append(f"header_token: {len(settings.digests)} caller(s): "
                            + ", ".join(sorted(settings.digests)))

    def test_headers(self, settings: HeaderTokenSettings, request: TestRequest
                     ) -> dict[str, str]:
        token = request.options.get("token")
        if not isinstance(token, str):
            raise ValueError("A header_token credential needs token=: the server holds only "
                             "digests.")
        return {HEADER: token}


HEADER_TOKEN: Final = HeaderTokenMethod()
