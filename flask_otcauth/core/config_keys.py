"""One documented setting and the parsers its value goes through; Flask-free.

A :class:`ConfigKey` carries everything about a key: its default, its meaning and the fields
the configuration page shows, and its parser, which turns the raw ``app.config`` value into
what the settings hold or raises :class:`OTCAuthConfigError` naming the key. Methods declare
their keys with these parsers in their own module, so a new method brings its keys along.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many

from .refusals import OTCAuthConfigError

PREFIX: Final = "OTC_AUTH_"
MIN_SECRET_BYTES: Final = 32
MAX_LEEWAY_SECONDS: Final = 300
SECRET_HINT: Final = ("generate one with: python -c 'import secrets; "  # noqa: S105 - no secret
                      "print(secrets.token_urlsafe(48))'")
SECRET_EXAMPLE: Final = "replace-me-with-secrets.token_urlsafe(48)-output"  # noqa: S105


def _as_given(value: Any, name: str) -> Any:
    return value


@dataclass(frozen=True)
class ConfigKey:
    """One documented setting: the unknown-key check, the docs page and the settings read these.

    ``type``, ``example`` (a value the settings accept), ``wrong`` (what ``init_app`` raises
    when the value is not usable) and ``bad_example`` (a value ``init_app`` refuses, naming the
    key) exist for the configuration page, which is generated from the keys so it cannot
    drift; tests refuse a key that leaves any of them empty, and try both examples.
    ``parse(value, name)`` is the key's own check: the value the settings hold, or an error.
    """

    name: str
    default: Any
    meaning: str
    type: str = ""
    example: Any = None
    wrong: str = ""
    bad_example: Any = None
    parse: Callable[[Any, str], Any] = _as_given

    def read(self, config: Mapping[str, Any]) -> Any:
        """This key's value in ``config`` (its default when unset), parsed."""
        return self.parse(config.get(self.name, self.default), self.name)


def refuse_unknown_keys(config: Mapping[str, Any], keys: Iterable[ConfigKey]) -> None:
    """An ``OTC_AUTH_*`` key nobody declared is a typo: refused, with the closest name."""
    known = [key.name for key in keys]
    for name in config:
        if isinstance(name, str) and name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise OTCAuthConfigError(f"Unknown setting {name}.{hint} Known settings: "
                                     + ", ".join(known))


def listed(value: Any, name: str) -> tuple[Any, ...]:
    """A lone string stands for a one-item list: env values often arrive that way."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise OTCAuthConfigError(f"{name} must be a list, got {type(value).__name__}.")


def strings(value: Any, name: str) -> tuple[str, ...]:
    items = listed(value, name)
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise OTCAuthConfigError(f"{name}[{index}] must be a non-empty string.")
    return items


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise OTCAuthConfigError(f"{name} must be true or false, got {value!r}.")
    return value


def optional_boolean(value: Any, name: str) -> bool | None:
    return None if value is None else boolean(value, name)


def optional_string(value: Any, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise OTCAuthConfigError(f"{name} must be a non-empty string or None.")
    return value


def seconds(minimum: int, maximum: int | None = None) -> Callable[[Any, str], int]:
    """A parser for a whole number of seconds in ``minimum``..``maximum``."""

    def parse(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise OTCAuthConfigError(f"{name} must be a whole number of seconds >= {minimum}, "
                                     f"got {value!r}.")
        if maximum is not None and value > maximum:
            raise OTCAuthConfigError(f"{name} is {value} s; at most {maximum} s is allowed.")
        return value

    return parse


def timeout_seconds(minimum: float, maximum: float) -> Callable[[Any, str], float]:
    """A parser for seconds, whole or decimal, in ``minimum``..``maximum``."""

    def parse(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                minimum <= value <= maximum):
            raise OTCAuthConfigError(f"{name} must be a number of seconds from {minimum} to "
                                     f"{maximum} (such as 0.25), got {value!r}.")
        return float(value)

    return parse


def choice(*allowed: str) -> Callable[[Any, str], str]:
    """A parser for one of a few fixed words."""

    def parse(value: Any, name: str) -> str:
        if value not in allowed:
            words = " or ".join(f'"{word}"' for word in allowed)
            raise OTCAuthConfigError(f"{name} must be {words}, got {value!r}.")
        return str(value)

    return parse


def leeway(value: Any, name: str) -> int:
    allowed = seconds(0)(value, name)
    if allowed > MAX_LEEWAY_SECONDS:
        raise OTCAuthConfigError(
            f"{name} is {allowed} s; at most {MAX_LEEWAY_SECONDS} s of clock skew is "
            "allowed. Fix the clocks (NTP) rather than widening the window."
        )
    return allowed


def rate_limit(value: Any, name: str) -> tuple[RateLimitItem, ...]:
    if value is None:
        return ()
    if not isinstance(value, str):
        raise OTCAuthConfigError(f'{name} must be a rate-limit string such as "120/minute", or '
                                 "None to turn it off.")
    try:
        return tuple(parse_many(value))
    except ValueError:
        raise OTCAuthConfigError(f'{name} is "{value}", which is not a rate limit: write it as '
                                 '"120/minute" or "10/second;500/hour".') from None


def storage_uri(value: Any, name: str) -> str | None:
    """Catch a typo'd URI at start-up; the URI is never quoted, as it may hold a password."""
    if value is None:
        return None
    example = '"memory://" or "redis://127.0.0.1:6379/0"'
    if not isinstance(value, str) or "://" not in value:
        raise OTCAuthConfigError(f"{name} must be a limits storage URI such as {example}.")
    try:
        # Sentinel and Cluster URIs list several servers: host:port,host:port
        for location in urlsplit(value).netloc.rpartition("@")[2].split(","):
            urlsplit("//" + location).port  # noqa: B018 - parsing is the check
    except ValueError:
        raise OTCAuthConfigError(f"{name} has a port that is not a number (0-65535).") from None
    return value


def secret_bytes(value: Any, label: str, kind: str) -> bytes:
    """A shared secret of at least :data:`MIN_SECRET_BYTES`; the error never quotes it."""
    secret = value.encode("utf-8") if isinstance(value, str) else value
    if not isinstance(secret, bytes):
        raise OTCAuthConfigError(f"{label} must be a string.")
    if len(secret) < MIN_SECRET_BYTES:
        raise OTCAuthConfigError(f"{label} is {len(secret)} bytes; {kind} must be at least "
                                 f"{MIN_SECRET_BYTES} bytes ({SECRET_HINT}).")
    return secret
