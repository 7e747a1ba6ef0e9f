"""Settings: read once from ``app.config`` into a frozen object, or refused with a clear error.

Everything that can be wrong with a configuration is found here, at ``init_app``, so that a
misconfigured server never starts rather than failing open (or with a 500) on its first request.
Messages name the key and the fix, and never quote a secret.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many

from .exceptions import OTCAuthConfigError
from .identity import sha256
from .keys import KeyRecord, is_plausible, parse_digest, parse_record, plain_key_record
from .scopes import ScopeError, checked_scopes

PREFIX: Final = "OTC_AUTH_"
METHODS: Final = ("none", "jwt", "api_key", "hmac")
MIN_SECRET_BYTES: Final = 32
MAX_LEEWAY_SECONDS: Final = 300
MAX_HMAC_AGE_SECONDS: Final = 3600
# The keyid="..." a client sends: an RFC 8941 string, visible ASCII without quote or backslash.
_CLIENT_ID = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")
# Visible ASCII without the comma: a comma is how proxies join duplicated header lines.
_KEY_CHARS = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_SECRET_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105


@dataclass(frozen=True)
class ConfigKey:
    """One documented setting: the unknown-key check, the README and the docs page all read these.

    ``type``, ``example`` (a value the settings accept), ``wrong`` (what ``init_app`` raises
    when the value is not usable) and ``bad_example`` (a value ``init_app`` refuses, naming the
    key) exist for the configuration page, which is generated from this tuple so it cannot
    drift; tests refuse a key that leaves any of them empty, and try both examples.
    """

    name: str
    default: Any
    meaning: str
    type: str = ""
    example: Any = None
    wrong: str = ""
    bad_example: Any = None


_SECRET_EXAMPLE = "replace-me-with-secrets.token_urlsafe(48)-output"  # noqa: S105 - a placeholder
CONFIG_KEYS: Final = (
    ConfigKey("OTC_AUTH_METHODS", ["jwt", "api_key"],
              'Enabled methods in order of preference; ["none"] turns authentication off.',
              type="list[str]: " + ", ".join(METHODS), example=["api_key"],
              wrong='Unknown method (with the closest name), an empty list, a method named twice, '
                    'or "none" mixed with other methods.',
              bad_example=["jwt", "apikey"]),
    ConfigKey("OTC_AUTH_API_KEYS", [],
              'Accepted API keys: plain strings (>= 32 characters), "sha256:<64 hex>" digests, '
              "or records (dicts with id, hash, scopes, tenant, expires_at, not_before, "
              "disabled).",
              type='list[str | dict]: keys, "sha256:<hex>" digests or key records',
              example=["sha256:" + "3f" * 32,
                       {"id": "ci-bot", "hash": "sha256:" + "5a" * 32,
                        "scopes": ["tools:list", "tools:call:Math.*"], "tenant": "acme",
                        "expires_at": "2027-01-31T00:00:00Z"}],
              wrong="A key shorter than 32 characters or with characters a header cannot carry, a "
                    'malformed "sha256:" digest, an issued otc_ key with a bad checksum, a '
                    "record with an unknown or invalid field (named), the same key twice with a "
                    'record, or an empty list while "api_key" is enabled without a loader.',
              bad_example=["too-short-to-be-a-key"]),
    ConfigKey("OTC_AUTH_API_KEY_CACHE_TTL", 60,
              "Seconds an api_key_loader's record is cached before the loader is asked again.",
              type="int (seconds, >= 0)", example=30, wrong="Not a whole number >= 0.",
              bad_example=-1),
    ConfigKey("OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL", 5,
              'Seconds an api_key_loader\'s "no such key" is cached.',
              type="int (seconds, >= 0)", example=2, wrong="Not a whole number >= 0.",
              bad_example="5"),
    ConfigKey("OTC_AUTH_API_KEY_HEADERS", ["OTC-API-Key", "OXP-API-Key"],
              "Header names that carry the API key (case-insensitive).",
              type="list[str]: header names", example=["OTC-API-Key"],
              wrong="An empty list, or a name that is not a valid header name (or is "
                    "Authorization).",
              bad_example=["OTC API Key"]),
    ConfigKey("OTC_AUTH_JWT_SECRET", None,
              "HS256 secret (>= 32 bytes), or a list: the first signs, all verify (rotation).",
              type="str | bytes | list[str | bytes] | None",
              example=[_SECRET_EXAMPLE, "the-previous-secret-kept-until-its-tokens-expire"],
              wrong='A secret (or a rotation entry) that is not a string, is shorter than 32 bytes '
                    'or, while "jwt" is enabled, is shaped like an asymmetric key or a JWK (PEM, '
                    "SSH or DER key material, a JSON key object), which HS256 must not use as a "
                    'secret; or none while "jwt" is enabled.',
              bad_example="short-secret"),
    ConfigKey("OTC_AUTH_JWT_AUDIENCES", [],
              "The allowed client list: a token's aud must name at least one of these.",
              type="list[str]", example=["my-agent-platform"],
              wrong="Not a list of non-empty strings.", bad_example=["my-agent-platform", ""]),
    ConfigKey("OTC_AUTH_JWT_REQUIRE_AUDIENCE", False, "Reject tokens without aud.",
              type="bool", example=True, wrong="Not true or false.", bad_example="yes"),
    ConfigKey("OTC_AUTH_JWT_ISSUER", None, "When set, iss is required and must match exactly.",
              type="str | None", example="https://platform.example.com",
              wrong="An empty string or not a string.", bad_example=""),
    ConfigKey("OTC_AUTH_JWT_MAX_LIFETIME", 900,
              "Seconds: a token whose exp is further ahead than this (plus leeway) is rejected.",
              type="int (seconds, >= 1)", example=300, wrong="Not a whole number >= 1.",
              bad_example=0),
    ConfigKey("OTC_AUTH_JWT_LEEWAY", 0, "Seconds of clock skew allowed on exp/nbf/iat (0-300).",
              type="int (seconds, 0-300)", example=5,
              wrong="Not a whole number, negative, or over 300 (fix the clocks instead).",
              bad_example=600),
    ConfigKey("OTC_AUTH_RATELIMIT", "120/minute",
              "Requests per authenticated identity, across all protected views; None: off.",
              type="str | None (limits notation)", example="10/second;500/hour",
              wrong='Not a rate-limit string such as "120/minute".',
              bad_example="120 per minute please"),
    ConfigKey("OTC_AUTH_FAILURE_RATELIMIT", "20/minute",
              "Failed attempts per client address before every attempt gets 429; None: off.",
              type="str | None (limits notation)", example="5/minute",
              wrong='Not a rate-limit string such as "20/minute".', bad_example=20),
    ConfigKey("OTC_AUTH_RATELIMIT_STORAGE_URI", None,
              "Where the rate-limit counters live, as a limits storage URI; None (unset): "
              "memory://, one process's counters. redis://... shares them between workers and "
              "hosts. Leave it unset when you pass your own Limiter: its storage is used.",
              type="str | None (limits storage URI)", example="redis://127.0.0.1:6379/0",
              wrong="Not a URI, or a port that is not a number; and while a rate limit is on, "
                    "a URI that names a storage the limits library cannot use (an unknown "
                    "scheme, or its driver not installed), or the key set while OTCAuth is "
                    "given a Limiter (configure the storage on the Limiter instead).",
              bad_example="redis://127.0.0.1:port/0"),
    ConfigKey("OTC_AUTH_PROTECT_ALL", False,
              "Protect every view of the app; opt out with @auth.exempt.",
              type="bool", example=True, wrong="Not true or false.", bad_example=1),
    ConfigKey("OTC_AUTH_HMAC_CLIENTS", {},
              'Request-signing clients: {"client-id": "secret" | ["current", "previous"] | '
              '{"secrets": [...], "scopes": [...]}}, secrets >= 32 bytes and distinct from API '
              "keys.",
              type='dict[str, str | list[str] | dict]: client id -> secret, [current, previous], '
                   'or {"secrets": [...], "scopes": [...]}',
              example={"agent-platform": _SECRET_EXAMPLE},
              wrong="Not a mapping, a client id a keyid cannot carry, a secret shorter than 32 "
                    "bytes or also used as an API key or JWT secret, a client record with a field "
                    'other than "secrets" and "scopes" (named), scopes that are not a list of '
                    "valid scopes (visible ASCII without spaces or quotes), or empty while "
                    '"hmac" is enabled.',
              bad_example={"agent-platform": {"secrets": [_SECRET_EXAMPLE], "scope": []}}),
    ConfigKey("OTC_AUTH_HMAC_MAX_AGE", 300,
              "Seconds: a signature whose created is older than this is refused.",
              type="int (seconds, 1-3600)", example=120, wrong="Not a whole number in 1-3600.",
              bad_example=7200),
    ConfigKey("OTC_AUTH_HMAC_LEEWAY", 5,
              "Seconds a signature's created may be ahead of the server's clock (0-300).",
              type="int (seconds, 0-300)", example=2,
              wrong="Not a whole number, negative, or over 300 (fix the clocks instead).",
              bad_example=-5),
    ConfigKey("OTC_AUTH_STORAGE_URI", None,
              "Shared state (hmac nonces, and state of your own): memory:// or redis://...; "
              "None (unset): OTC_AUTH_RATELIMIT_STORAGE_URI's URI, else memory://.",
              type="str | None (memory:// or redis://)", example="redis://127.0.0.1:6379/0",
              wrong="Not a URI, a port that is not a number, a kind other than memory or redis "
                    "(memory://, redis://, rediss://, redis+unix://), or a redis URI while "
                    "redis-py is not installed (pip install 'flask-otcauth[redis]'). Checked at "
                    'init_app in every configuration, whether or not "hmac" is enabled; unset, '
                    "the checks apply to the OTC_AUTH_RATELIMIT_STORAGE_URI it falls back to, "
                    "and the error names both keys.",
              bad_example="redis://127.0.0.1:port/0"),
    ConfigKey("OTC_AUTH_REQUIRE_HTTPS", None,
              "Refuse credentials sent over plain HTTP (403) and send Strict-Transport-Security;"
              " None: on unless DEBUG or TESTING.",
              type="bool | None", example=True, wrong="Not true, false or None.",
              bad_example="false"),
)
_KNOWN: Final = {key.name: key for key in CONFIG_KEYS}


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration of one app. Never changes after ``init_app``."""

    methods: tuple[str, ...]
    api_key_records: tuple[KeyRecord, ...]
    api_key_cache_ttl: int
    api_key_negative_cache_ttl: int
    api_key_headers: tuple[str, ...]
    jwt_secrets: tuple[bytes, ...]
    jwt_audiences: tuple[str, ...]
    jwt_require_audience: bool
    jwt_issuer: str | None
    jwt_max_lifetime: int
    jwt_leeway: int
    ratelimit: tuple[RateLimitItem, ...]
    failure_ratelimit: tuple[RateLimitItem, ...]
    ratelimit_storage_uri: str | None
    protect_all: bool
    hmac_clients: tuple[tuple[str, tuple[bytes, ...]], ...]
    hmac_client_scopes: Mapping[str, frozenset[str]]
    hmac_max_age: int
    hmac_leeway: int
    storage_uri: str
    storage_uri_setting: str  # which key the storage URI came from, for error messages
    require_https: bool

    @property
    def auth_disabled(self) -> bool:
        return self.methods == ("none",)

    @property
    def api_key_digests(self) -> tuple[bytes, ...]:
        return tuple(record.digest for record in self.api_key_records)


def load_settings(config: Mapping[str, Any], *, has_key_loader: bool = False) -> Settings:
    """Validate the ``OTC_AUTH_*`` keys of ``config`` and build the settings, or raise.

    ``has_key_loader``: records come from an ``api_key_loader``, so no configured key is fine.
    """
    _refuse_unknown_keys(config)

    def get(name: str) -> Any:
        return config.get(name, _KNOWN[name].default)

    methods = _methods(get("OTC_AUTH_METHODS"))
    api_key_records = _api_key_records(get("OTC_AUTH_API_KEYS"))
    jwt_secrets = _jwt_secrets(get("OTC_AUTH_JWT_SECRET"))
    if "api_key" in methods and not api_key_records and not has_key_loader:
        raise OTCAuthConfigError(
            'OTC_AUTH_METHODS enables "api_key" but OTC_AUTH_API_KEYS is empty: add at least one '
            'key (or its "sha256:<hex>" digest, or a record), register an @auth.api_key_loader '
            'before init_app, or remove "api_key" from OTC_AUTH_METHODS.'
        )
    if "jwt" in methods and not jwt_secrets:
        raise OTCAuthConfigError(
            'OTC_AUTH_METHODS enables "jwt" but OTC_AUTH_JWT_SECRET is not set: set it '
            f'({_SECRET_HINT}), or remove "jwt" from OTC_AUTH_METHODS.'
        )
    hmac_client_scopes = _hmac_client_scopes(get("OTC_AUTH_HMAC_CLIENTS"))
    hmac_clients = _hmac_clients(get("OTC_AUTH_HMAC_CLIENTS"),
                                 forbidden={record.digest for record in api_key_records}
                                 | {sha256(secret) for secret in jwt_secrets})
    if "hmac" in methods and not hmac_clients:
        raise OTCAuthConfigError(
            'OTC_AUTH_METHODS enables "hmac" but OTC_AUTH_HMAC_CLIENTS is empty: add '
            '{"client-id": "secret"} for each signing client, or remove "hmac" from '
            "OTC_AUTH_METHODS.")
    ratelimit_storage_uri = _storage_uri(config.get("OTC_AUTH_RATELIMIT_STORAGE_URI"),
                                         "OTC_AUTH_RATELIMIT_STORAGE_URI")
    storage_uri = _storage_uri(config.get("OTC_AUTH_STORAGE_URI"), "OTC_AUTH_STORAGE_URI")
    return Settings(
        methods=methods,
        api_key_records=api_key_records,
        api_key_cache_ttl=_integer(get("OTC_AUTH_API_KEY_CACHE_TTL"),
                                   "OTC_AUTH_API_KEY_CACHE_TTL", minimum=0),
        api_key_negative_cache_ttl=_integer(get("OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL"),
                                            "OTC_AUTH_API_KEY_NEGATIVE_CACHE_TTL", minimum=0),
        api_key_headers=_header_names(get("OTC_AUTH_API_KEY_HEADERS")),
        jwt_secrets=jwt_secrets,
        jwt_audiences=_strings(get("OTC_AUTH_JWT_AUDIENCES"), "OTC_AUTH_JWT_AUDIENCES"),
        jwt_require_audience=_boolean(get("OTC_AUTH_JWT_REQUIRE_AUDIENCE"),
                                      "OTC_AUTH_JWT_REQUIRE_AUDIENCE"),
        jwt_issuer=_optional_string(get("OTC_AUTH_JWT_ISSUER"), "OTC_AUTH_JWT_ISSUER"),
        jwt_max_lifetime=_integer(get("OTC_AUTH_JWT_MAX_LIFETIME"), "OTC_AUTH_JWT_MAX_LIFETIME",
                                  minimum=1),
        jwt_leeway=_leeway(get("OTC_AUTH_JWT_LEEWAY"), "OTC_AUTH_JWT_LEEWAY"),
        ratelimit=_rate_limit(get("OTC_AUTH_RATELIMIT"), "OTC_AUTH_RATELIMIT"),
        failure_ratelimit=_rate_limit(get("OTC_AUTH_FAILURE_RATELIMIT"),
                                      "OTC_AUTH_FAILURE_RATELIMIT"),
        ratelimit_storage_uri=ratelimit_storage_uri,
        protect_all=_boolean(get("OTC_AUTH_PROTECT_ALL"), "OTC_AUTH_PROTECT_ALL"),
        hmac_clients=hmac_clients,
        hmac_client_scopes=hmac_client_scopes,
        hmac_max_age=_integer(get("OTC_AUTH_HMAC_MAX_AGE"), "OTC_AUTH_HMAC_MAX_AGE", minimum=1,
                              maximum=MAX_HMAC_AGE_SECONDS),
        hmac_leeway=_leeway(get("OTC_AUTH_HMAC_LEEWAY"), "OTC_AUTH_HMAC_LEEWAY"),
        # One redis:// setting covers all: shared state follows the rate-limit storage by default.
        storage_uri=storage_uri or ratelimit_storage_uri or "memory://",
        storage_uri_setting=("OTC_AUTH_STORAGE_URI" if storage_uri or not ratelimit_storage_uri
                             else "OTC_AUTH_RATELIMIT_STORAGE_URI (OTC_AUTH_STORAGE_URI unset)"),
        require_https=_require_https(get("OTC_AUTH_REQUIRE_HTTPS"), config),
    )


def _refuse_unknown_keys(config: Mapping[str, Any]) -> None:
    for name in config:
        if isinstance(name, str) and name.startswith(PREFIX) and name not in _KNOWN:
            close = difflib.get_close_matches(name, list(_KNOWN), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise OTCAuthConfigError(f"Unknown setting {name}.{hint} Known settings: "
                                     + ", ".join(_KNOWN))


def _listed(value: Any, name: str) -> tuple[Any, ...]:
    """A lone string stands for a one-item list: env values often arrive that way."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise OTCAuthConfigError(f"{name} must be a list, got {type(value).__name__}.")


def _strings(value: Any, name: str) -> tuple[str, ...]:
    items = _listed(value, name)
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise OTCAuthConfigError(f"{name}[{index}] must be a non-empty string.")
    return items


def _methods(value: Any) -> tuple[str, ...]:
    methods = _strings(value, "OTC_AUTH_METHODS")
    if not methods:
        raise OTCAuthConfigError('OTC_AUTH_METHODS is empty: name at least one method, or ["none"]'
                                 " to turn authentication off.")
    for method in methods:
        if method not in METHODS:
            close = difflib.get_close_matches(method, METHODS, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            raise OTCAuthConfigError(f'OTC_AUTH_METHODS names unknown method "{method}".{hint} '
                                     f"Known methods: {', '.join(METHODS)}.")
    if len(set(methods)) != len(methods):
        raise OTCAuthConfigError("OTC_AUTH_METHODS names a method twice.")
    if "none" in methods and len(methods) > 1:
        raise OTCAuthConfigError('OTC_AUTH_METHODS mixes "none" with other methods: "none" turns '
                                 'authentication off, so it must stand alone (["none"]).')
    return methods


def _api_key_records(value: Any) -> tuple[KeyRecord, ...]:
    """Strings and digests become scope-less records; the same key twice is refused if either
    occurrence is a record, since its scopes or validity would then be ambiguous."""
    records: dict[bytes, tuple[KeyRecord, str, bool]] = {}
    for index, entry in enumerate(_listed(value, "OTC_AUTH_API_KEYS")):
        where = f"OTC_AUTH_API_KEYS[{index}]"
        is_record = not isinstance(entry, str)
        record = parse_record(entry, where) if is_record else plain_key_record(
            _plain_key_digest(entry, where))
        earlier = records.get(record.digest)
        if earlier is not None:
            if is_record or earlier[2]:
                raise OTCAuthConfigError(f"{where} and {earlier[1]} are the same key: give each "
                                         "key one entry.")
            continue
        records[record.digest] = (record, where, is_record)
    return tuple(record for record, _, _ in records.values())


def _plain_key_digest(entry: str, where: str) -> bytes:
    if entry.startswith("sha256:"):
        return parse_digest(entry, where)
    if _KEY_CHARS.fullmatch(entry) is None:
        raise OTCAuthConfigError(f"{where} contains characters a header cannot carry: use "
                                 "printable ASCII without spaces or commas.")
    if len(entry) < MIN_SECRET_BYTES:
        raise OTCAuthConfigError(
            f"{where} is {len(entry)} characters; API keys must be at least "
            f"{MIN_SECRET_BYTES} ({_SECRET_HINT})."
        )
    if not is_plausible(entry):
        raise OTCAuthConfigError(f"{where} starts like an issued key (otc_live_/otc_test_) but its "
                                 "checksum does not match: it was mistyped or truncated.")
    return sha256(entry.encode("ascii"))


def _jwt_secrets(value: Any) -> tuple[bytes, ...]:
    if value is None:
        return ()
    entries = _listed(value, "OTC_AUTH_JWT_SECRET")
    secrets = []
    for index, entry in enumerate(entries):
        where = "OTC_AUTH_JWT_SECRET" if isinstance(value, (str, bytes)) else (
            f"OTC_AUTH_JWT_SECRET[{index}]")
        secret = entry.encode("utf-8") if isinstance(entry, str) else entry
        if not isinstance(secret, bytes):
            raise OTCAuthConfigError(f"{where} must be a string.")
        if len(secret) < MIN_SECRET_BYTES:
            raise OTCAuthConfigError(f"{where} is {len(secret)} bytes; HS256 secrets must be at "
                                     f"least {MIN_SECRET_BYTES} bytes ({_SECRET_HINT}).")
        secrets.append(secret)
    return tuple(secrets)


def _header_names(value: Any) -> tuple[str, ...]:
    names = _strings(value, "OTC_AUTH_API_KEY_HEADERS")
    if not names:
        raise OTCAuthConfigError("OTC_AUTH_API_KEY_HEADERS is empty: name at least one header.")
    for name in names:
        if _HEADER_NAME.fullmatch(name) is None or name.lower() == "authorization":
            raise OTCAuthConfigError(f'OTC_AUTH_API_KEY_HEADERS names "{name}", which is not a '
                                     "usable header name (and Authorization is the bearer's).")
    return names


def _rate_limit(value: Any, name: str) -> tuple[RateLimitItem, ...]:
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


def _storage_uri(value: Any, name: str) -> str | None:
    """Catch a typo'd URI at start-up; the URI is never quoted, as it may hold a password."""
    if value is None:
        return None
    example = '"memory://" or "redis://127.0.0.1:6379/0"'
    if not isinstance(value, str) or "://" not in value:
        raise OTCAuthConfigError(f"{name} must be a limits storage URI such as {example}.")
    try:
        urlsplit(value).port  # noqa: B018 - parsing is the check
    except ValueError:
        raise OTCAuthConfigError(f"{name} has a port that is not a number (0-65535).") from None
    return value


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise OTCAuthConfigError(f"{name} must be true or false, got {value!r}.")
    return value


def _require_https(value: Any, config: Mapping[str, Any]) -> bool:
    """On by default, off only where a developer works: the debug server or a test client."""
    if value is None:
        return not (config.get("DEBUG") or config.get("TESTING"))
    return _boolean(value, "OTC_AUTH_REQUIRE_HTTPS")


def _optional_string(value: Any, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise OTCAuthConfigError(f"{name} must be a non-empty string or None.")
    return value


def _integer(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OTCAuthConfigError(f"{name} must be a whole number of seconds >= {minimum}, "
                                 f"got {value!r}.")
    if maximum is not None and value > maximum:
        raise OTCAuthConfigError(f"{name} is {value} s; at most {maximum} s is allowed.")
    return value


def _leeway(value: Any, name: str) -> int:
    leeway = _integer(value, name, minimum=0)
    if leeway > MAX_LEEWAY_SECONDS:
        raise OTCAuthConfigError(
            f"{name} is {leeway} s; at most {MAX_LEEWAY_SECONDS} s of clock skew is "
            "allowed. Fix the clocks (NTP) rather than widening the window."
        )
    return leeway


def _hmac_client_scopes(value: Any) -> Mapping[str, frozenset[str]]:
    """The scopes of clients written as records; a client given by its secrets holds none."""
    scopes: dict[str, frozenset[str]] = {}
    if not isinstance(value, Mapping):
        return scopes  # _hmac_clients explains what is wrong
    for client_id, entry in value.items():
        if not isinstance(entry, Mapping):
            continue
        where = f'OTC_AUTH_HMAC_CLIENTS["{client_id}"]'
        unknown = set(entry) - {"secrets", "scopes"}
        if unknown:
            raise OTCAuthConfigError(f"{where} has unknown fields {sorted(map(str, unknown))}: a "
                                     'client record holds "secrets" and "scopes".')
        listed = entry.get("scopes", [])
        if not isinstance(listed, list):
            raise OTCAuthConfigError(f"{where}.scopes must be a list of scopes.")
        try:
            scopes[str(client_id)] = checked_scopes(listed)
        except ScopeError as error:
            raise OTCAuthConfigError(f"{where}.scopes: {error}.") from None
    return MappingProxyType(scopes)


def _hmac_clients(
    value: Any, *, forbidden: set[bytes]
) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    """Client ids with their secrets, current first; never quotes a secret in an error."""
    name = "OTC_AUTH_HMAC_CLIENTS"
    if not isinstance(value, Mapping):
        raise OTCAuthConfigError(f'{name} must be a mapping {{"client-id": "secret"}}, got '
                                 f"{type(value).__name__}.")
    clients = []
    for client_id, entry in value.items():
        if not isinstance(client_id, str) or _CLIENT_ID.fullmatch(client_id) is None:
            raise OTCAuthConfigError(f"{name} has a client id that is not 1-128 visible ASCII "
                                     "characters without quotes or backslashes (the keyid).")
        where = f'{name}["{client_id}"]'
        if isinstance(entry, Mapping):  # {"secrets": [...], "scopes": [...]}
            where, given = f"{where}.secrets", entry.get("secrets")
        else:
            given = entry
        entries = [given] if isinstance(given, str) else given
        if not isinstance(entries, list) or not entries:
            raise OTCAuthConfigError(f'{where} must be a secret or a list ["current", "previous"].')
        secrets = []
        for index, secret in enumerate(entries):
            label = where if isinstance(given, str) else f"{where}[{index}]"
            if not isinstance(secret, str):
                raise OTCAuthConfigError(f"{label} must be a string.")
            raw = secret.encode("utf-8")
            if len(raw) < MIN_SECRET_BYTES:
                raise OTCAuthConfigError(f"{label} is {len(raw)} bytes; signing secrets must be at "
                                         f"least {MIN_SECRET_BYTES} bytes ({_SECRET_HINT}).")
            if sha256(raw) in forbidden:
                raise OTCAuthConfigError(f"{label} is also configured as an API key or JWT secret: "
                                         "give every client a signing secret of its own.")
            secrets.append(raw)
        clients.append((client_id, tuple(secrets)))
    return tuple(clients)
