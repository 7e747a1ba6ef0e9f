"""``flask otcauth``: issue keys, hash keys, mint test tokens, check a configuration.

Registered on ``app.cli`` by ``init_app``, and as a ``flask.commands`` entry point so that
``generate-key`` and ``hash-key`` work without an app and ``check`` can report a configuration
that stops the app from loading. Nothing here prints a configured secret: keys are shown once
when generated and otherwise only as a prefix of their digest, JWT secrets only by length, and
storage URIs without their password, in the userinfo or in the query string.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_plus

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from .config import load_settings
from .exceptions import OTCAuthConfigError
from .identity import key_fingerprint, sha256
from .keys import ENVIRONMENTS, KeyRecord, generate_key, hash_key, is_plausible
from .minting import MintError, mint_token
from .scopes import ScopeError, checked_scopes

if TYPE_CHECKING:
    from .config import Settings
    from .extension import OTCAuth

otcauth_cli = AppGroup("otcauth", help="flask-otcauth: API keys, test tokens, configuration check.")

EXPIRY_WARNING_DAYS: Final = 14
LARGE_LEEWAY_SECONDS: Final = 60
SPEC_MAX_LIFETIME: Final = 900
_DAY: Final = 86400
# Query parameters that may carry a credential (password=, sentinel_password=, token=,
# client_secret=, api_key=, sig=, authToken=...): their values are never printed. Matching
# too much only hides a harmless value; matching too little prints a secret.
_SECRET_PARAMETER: Final = re.compile(r"pass|pwd|secret|token|key|sig|auth|cred", re.IGNORECASE)


def _extension() -> OTCAuth:
    auth: OTCAuth = current_app.extensions["otcauth"]
    return auth


@otcauth_cli.command("generate-key", with_appcontext=False)
@click.option("--env", type=click.Choice(ENVIRONMENTS), default="live", show_default=True,
              help="live for production keys, test for everything else.")
@click.option("--id", "record_id", help="Whose key it is (the identity's subject).")
@click.option("--scope", "scopes", multiple=True, help="A scope the key grants; repeatable.")
@click.option("--tenant", help="The tenant the key belongs to.")
def generate_key_command(env: str, record_id: str | None, scopes: tuple[str, ...],
                         tenant: str | None) -> None:
    """Print a new API key once, and its record (hash only) for OTC_AUTH_API_KEYS."""
    try:
        granted = checked_scopes(scopes)
    except ScopeError as error:
        raise click.BadParameter(str(error), param_hint="--scope") from None
    key = generate_key(env)
    record: dict[str, Any] = {
        "id": record_id or key_fingerprint(sha256(key.encode("ascii"))),
        "hash": hash_key(key),
        "scopes": sorted(granted),
    }
    if tenant is not None:
        record["tenant"] = tenant
    click.echo(f"API key (shown once; give it to its holder, it is not stored): {key}")
    click.echo("Record for OTC_AUTH_API_KEYS or your key table:")
    click.echo(json.dumps(record))


@otcauth_cli.command("hash-key", with_appcontext=False)
def hash_key_command() -> None:
    """Print sha256:<hex> of a key read from stdin (never from argv: shell history keeps it)."""
    if sys.stdin.isatty():
        key = click.prompt("API key", hide_input=True, err=True)
    else:
        key = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not key:
        raise click.UsageError("no key on stdin: printf %s \"$KEY\" | flask otcauth hash-key")
    if not is_plausible(key):
        click.echo("warning: this looks like an issued otc_ key with a bad checksum "
                   "(mistyped or truncated?)", err=True)
    click.echo(hash_key(key))


@otcauth_cli.command("mint-token")
@click.option("--sub", required=True, help="The token's subject.")
@click.option("--aud", help="Audience (default: the first of OTC_AUTH_JWT_AUDIENCES).")
@click.option("--ttl", type=int, default=300, show_default=True,
              help="Seconds until exp; at most OTC_AUTH_JWT_MAX_LIFETIME.")
@click.option("--scope", "scopes", multiple=True, help="A scope the token grants; repeatable.")
def mint_token_command(sub: str, aud: str | None, ttl: int, scopes: tuple[str, ...]) -> None:
    """Print a JWT signed with the app's current secret, for testing a tool server by hand."""
    settings = _extension().settings()
    if "jwt" not in settings.methods:
        raise click.ClickException('OTC_AUTH_METHODS does not enable "jwt".')
    claims: dict[str, Any] = {"sub": sub}
    if aud is not None:
        claims["aud"] = aud
    try:
        token = mint_token(settings, now=time.time(), ttl=ttl, scopes=scopes or None, **claims)
    except MintError as error:
        raise click.ClickException(str(error)) from None
    click.echo(token)


@otcauth_cli.command("check", with_appcontext=False)
@click.option("--workers", type=click.IntRange(min=1), envvar="WEB_CONCURRENCY", default=1,
              help="Worker processes the server runs with (default: $WEB_CONCURRENCY or 1).")
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
def check_command(workers: int, strict: bool) -> None:
    """Print the authentication settings (secrets masked), warn on weak ones, fail on errors."""
    try:  # init_app refuses a bad configuration: report it rather than a traceback
        app = _load_app()
        with app.app_context():
            auth = _extension()
            # The app's config as it is now: it may have been edited since init_app.
            settings = load_settings(app.config,
                                     has_key_loader=auth.registered_key_loader is not None)
    except OTCAuthConfigError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    report = _describe(settings, has_loader=auth.registered_key_loader is not None,
                       workers=workers, now=time.time())
    for line in report.lines:
        click.echo(line)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in report.errors:
        click.echo(f"error: {problem}", err=True)
    if report.errors or (strict and report.warnings):
        raise SystemExit(1)
    click.echo(f"ok ({len(report.warnings)} warning(s))")


def _load_app() -> Flask:
    if current_app:
        return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]
    return click.get_current_context().ensure_object(ScriptInfo).load_app()


class _Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []


def _describe(settings: Settings, *, has_loader: bool, workers: int, now: float) -> _Report:
    report = _Report()
    report.lines.append("methods: " + ", ".join(settings.methods))
    if settings.auth_disabled:
        report.warnings.append('authentication is OFF (OTC_AUTH_METHODS = ["none"]): every '
                               "caller is let in; never run a reachable server like this.")
    if "api_key" in settings.methods:
        _describe_api_keys(settings, has_loader, now, report)
    if "jwt" in settings.methods:
        _describe_jwt(settings, report)
    if "hmac" in settings.methods:
        _describe_hmac(settings, workers, report)
    _describe_limits(settings, workers, report)
    report.lines.append(f"protect all views: {settings.protect_all}")
    return report


def _describe_api_keys(settings: Settings, has_loader: bool, now: float, report: _Report) -> None:
    records = settings.api_key_records
    report.lines.append(f"api_key: {len(records)} configured key(s), headers "
                        f"{', '.join(settings.api_key_headers)}, loader: "
                        + (f"yes (cache {settings.api_key_cache_ttl} s, negative "
                           f"{settings.api_key_negative_cache_ttl} s)" if has_loader else "no"))
    usable = 0
    for record in records:
        report.lines.append("  " + _describe_record(record))
        reason = record.refusal(now)
        if reason == "expired":
            report.warnings.append(f'key "{record.id}" has expired: remove it.')
        elif record.expires_at is not None and record.expires_at - now < EXPIRY_WARNING_DAYS * _DAY:
            days = (record.expires_at - now) / _DAY
            report.warnings.append(f'key "{record.id}" expires in {days:.1f} days: issue its '
                                   "successor (flask otcauth generate-key) and hand it out.")
        usable += reason is None or reason == "not yet valid"
    if records and not usable and not has_loader:
        report.errors.append('"api_key" is enabled but every configured key is expired or '
                             "disabled: no key can authenticate.")


def _describe_record(record: KeyRecord) -> str:
    parts = [f'"{record.id}"', "sha256:" + record.digest.hex()[:8] + "...",
             "scopes: " + (" ".join(sorted(record.scopes)) or "(none)")]
    if record.tenant is not None:
        parts.append(f"tenant: {record.tenant}")
    if record.not_before is not None:
        parts.append(f"not before {_iso(record.not_before)}")
    if record.expires_at is not None:
        parts.append(f"expires {_iso(record.expires_at)}")
    if record.disabled:
        parts.append("DISABLED")
    return ", ".join(parts)


def _describe_jwt(settings: Settings, report: _Report) -> None:
    lengths = ", ".join(str(len(secret)) for secret in settings.jwt_secrets)
    report.lines.append(f"jwt: HS256, {len(settings.jwt_secrets)} secret(s) of {lengths} bytes "
                        "(the first signs), audiences: "
                        + (", ".join(settings.jwt_audiences) or "(none)")
                        + f", aud required: {settings.jwt_require_audience}, issuer: "
                        + (settings.jwt_issuer or "(any)")
                        + f", max lifetime {settings.jwt_max_lifetime} s, leeway "
                        + f"{settings.jwt_leeway} s")
    if settings.jwt_leeway > LARGE_LEEWAY_SECONDS:
        report.warnings.append(f"OTC_AUTH_JWT_LEEWAY is {settings.jwt_leeway} s: expired tokens "
                               "stay usable that long; fix the clocks (NTP) and lower it.")
    if settings.jwt_max_lifetime > SPEC_MAX_LIFETIME:
        report.warnings.append(f"OTC_AUTH_JWT_MAX_LIFETIME is {settings.jwt_max_lifetime} s; the "
                               f"OTC spec allows at most {SPEC_MAX_LIFETIME} s.")
    if not settings.jwt_audiences:
        report.warnings.append("OTC_AUTH_JWT_AUDIENCES is empty: tokens are not tied to the "
                               "clients you allow.")


def _describe_hmac(settings: Settings, workers: int, report: _Report) -> None:
    report.lines.append(f"hmac: {len(settings.hmac_clients)} signing client(s), max age "
                        f"{settings.hmac_max_age} s, leeway {settings.hmac_leeway} s, nonces in "
                        f"{_masked_uri(settings.storage_uri)}")
    for client_id, secrets in settings.hmac_clients:
        scopes = settings.hmac_client_scopes.get(client_id, frozenset())
        report.lines.append(f'  "{client_id}", {len(secrets)} secret(s), scopes: '
                            + (" ".join(sorted(scopes)) or "(none)"))
    if settings.hmac_leeway > LARGE_LEEWAY_SECONDS:
        report.warnings.append(f"OTC_AUTH_HMAC_LEEWAY is {settings.hmac_leeway} s: signatures "
                               "dated that far in the future are accepted; fix the clocks (NTP) "
                               "and lower it.")
    if settings.storage_uri.startswith("memory://") and workers > 1:
        report.warnings.append(f"hmac nonces in memory:// with {workers} workers: a signed "
                               "request can be replayed once per worker; use redis://.")


def _describe_limits(settings: Settings, workers: int, report: _Report) -> None:
    storage = settings.ratelimit_storage_uri or "memory://"
    report.lines.append("rate limits: per caller "
                        + (" ; ".join(map(str, settings.ratelimit)) or "OFF")
                        + ", failed attempts per address "
                        + (" ; ".join(map(str, settings.failure_ratelimit)) or "OFF")
                        + f", storage {_masked_uri(storage)}")
    if not settings.failure_ratelimit and not settings.auth_disabled:
        report.warnings.append("OTC_AUTH_FAILURE_RATELIMIT is off: nothing slows down guessing.")
    if storage.startswith("memory://") and workers > 1 and (
            settings.ratelimit or settings.failure_ratelimit):
        report.warnings.append(f"memory:// storage with {workers} workers: each worker counts "
                               "alone, so every limit is multiplied by the worker count; use "
                               "redis://.")


def _masked_uri(uri: str) -> str:
    """``uri`` with the password of its userinfo and the values of credential-like query
    parameters replaced by ``***``; everything else as written (it is the operator's own text)."""
    rest, hash_mark, fragment = uri.partition("#")
    rest, question_mark, query = rest.partition("?")
    scheme, separator, after = rest.partition("://")
    netloc, slash, path = after.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    if query:
        query = "&".join(_masked_parameter(parameter) for parameter in query.split("&"))
    return (scheme + separator + userinfo + at + host + slash + path + question_mark + query
            + hash_mark + fragment)


def _masked_parameter(parameter: str) -> str:
    name, equals, _value = parameter.partition("=")
    if equals and _SECRET_PARAMETER.search(unquote_plus(name)):
        return f"{name}=***"
    return parameter


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
