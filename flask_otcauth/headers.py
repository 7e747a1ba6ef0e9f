"""Request headers read straight from the WSGI environ, for the per-request hot path.

Werkzeug's ``request.headers.get(name)`` goes through a context-local proxy, rebuilds the
environ key from the name on every call and raises and catches ``KeyError`` for every absent
header; the schemes ask for several headers that are usually absent. The answer is the same
string either way: both read ``environ["HTTP_<NAME>"]`` (``CONTENT_TYPE`` and ``CONTENT_LENGTH``
without the prefix, as CGI has them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

_UNPREFIXED: Final = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
# Most names come from the code and the settings; an HMAC signature's covered components come
# from the client, so the memo stops growing at a bound.
_MAX_MEMO: Final = 256
_environ_keys: dict[str, str] = {}


def environ_key(name: str) -> str:
    """The WSGI environ key of header ``name`` (case-insensitive, ``-`` read as ``_``)."""
    key = _environ_keys.get(name)
    if key is None:
        key = name.upper().replace("-", "_")
        if key not in _UNPREFIXED:
            key = "HTTP_" + key
        if len(_environ_keys) < _MAX_MEMO:
            _environ_keys[name] = key
    return key


def header_reader(environ: Mapping[str, Any]) -> Callable[[str], str | None]:
    """``header(name)``: the value of that request header, or ``None`` when it is absent."""

    def header(name: str) -> str | None:
        value: str | None = environ.get(_environ_keys.get(name) or environ_key(name))
        return value

    return header
