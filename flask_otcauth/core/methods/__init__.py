"""The methods a server can enable: the built-in ones, and those an app or a package adds.

Each method is one module declaring one :class:`~.base.AuthMethod`. Nothing else in the package
names a method: the settings, the configuration page, the OpenAPI helpers, ``flask otcauth
check`` and the pytest plugin iterate over the methods they are given. An app adds its own with
``OTCAuth.register_method(method)`` before ``init_app``; a package adds one for every app by
declaring an entry point in the ``flask_otcauth.methods`` group that names its method object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Final

from ..config_keys import PREFIX
from ..refusals import OTCAuthConfigError
from .api_key import API_KEY
from .base import AuthMethod, AuthRequest, Report, Scheme, Setup, TestRequest
from .hmac import HMAC
from .jwt import JWT
from .mtls import MTLS
from .oauth import OAUTH

__all__ = ["BUILT_IN", "ENTRY_POINT_GROUP", "NO_AUTH", "AuthMethod", "AuthRequest", "Report",
           "Scheme", "Setup", "TestRequest", "checked_methods", "default_methods"]

NO_AUTH: Final = "none"
"""The name that turns authentication off; a setting, not a method: it verifies nothing."""
BUILT_IN: Final[tuple[AuthMethod[Any], ...]] = (API_KEY, JWT, HMAC, OAUTH, MTLS)
ENTRY_POINT_GROUP: Final = "flask_otcauth.methods"
_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")


@cache
def _installed() -> tuple[AuthMethod[Any], ...]:
    """The methods packages declare as entry points, loaded once per process."""
    found = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        method = entry.load()
        if not isinstance(method, AuthMethod):
            raise OTCAuthConfigError(f'The entry point "{entry.name}" in {ENTRY_POINT_GROUP} '
                                     f"names {entry.value}, which is not an AuthMethod.")
        found.append(method)
    return tuple(found)


def default_methods() -> tuple[AuthMethod[Any], ...]:
    """The built-in methods, then the installed ones, checked together."""
    return checked_methods((*BUILT_IN, *_installed()))


def checked_methods(methods: Iterable[AuthMethod[Any]]) -> tuple[AuthMethod[Any], ...]:
    """``methods`` if no two share a name or a key and every key is an ``OTC_AUTH_*`` name."""
    methods = tuple(methods)
    names: set[str] = set()
    keys: dict[str, str] = {}
    for method in methods:
        name = getattr(method, "name", None)
        if not isinstance(name, str) or _NAME.fullmatch(name) is None or name == NO_AUTH:
            raise OTCAuthConfigError(
                f"A method's name must be 1-32 lowercase letters, digits or _ (and not "
                f'"{NO_AUTH}"), got {name!r}.')
        if name in names:
            raise OTCAuthConfigError(f'Two methods are named "{name}": register each once.')
        names.add(name)
        for key in method.keys:
            if not key.name.startswith(PREFIX):
                raise OTCAuthConfigError(f'Method "{name}" declares {key.name}: a key of a method '
                                         f"must start with {PREFIX}.")
            if key.name in keys:
                raise OTCAuthConfigError(f'Methods "{keys[key.name]}" and "{name}" both declare '
                                         f"{key.name}.")
            keys[key.name] = name
    return methods
