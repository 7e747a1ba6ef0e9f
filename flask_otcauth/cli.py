"""``flask otcauth``: issue keys, hash keys, mint test tokens, check a configuration.

Registered on ``app.cli`` by ``init_app``, and as a ``flask.commands`` entry point so that
``generate-key`` and ``hash-key`` work without an app and ``check`` can report a configuration
that stops the app from loading. Nothing here prints a configured secret: keys are shown once
when generated and otherwise only as a prefix of their digest, JWT secrets only by length, and
storage URIs without their password, in the userinfo or in the query string.
"""

from __future__ import annotations

import json
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from .core.identity import key_fingerprint, sha256
from .core.keys import ENVIRONMENTS, generate_key, hash_key, is_plausible
from .core.methods.base import Report
from .core.methods.jwt import JWT, MintError, mint_token
from .core.refusals import OTCAuthConfigError
from .core.scopes import ScopeError, checked_scopes
from .core.settings import Settings, load_settings
from .core.storage import masked_uri
from .core.storage_report import describe_storage
from .state import app_state

otcauth_cli = AppGroup("otcauth", help="flask-otcauth: API keys, test tokens, configuration check.")


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
    record: dict[str, object] = {
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
    settings = app_state().settings
    if JWT.name not in settings.methods:
        raise click.ClickException('OTC_AUTH_METHODS does not enable "jwt".')
    claims: dict[str, object] = {"sub": sub}
    if aud is not None:
        claims["aud"] = aud
    try:
        token = mint_token(settings.of(JWT), now=time.time(), ttl=ttl, scopes=scopes or None,
                           **claims)
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
        state = app_state(app)
        # The app's config as it is now: it may have been edited since init_app.
        settings = load_settings(app.config, methods=state.settings.registered,
                                 has_key_loader=state.key_loader is not None,
                                 has_limiter=state.limiter is not None)
    except OTCAuthConfigError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    report = _describe(settings, Report(workers=workers, now=time.time(),
                                        has_key_loader=state.key_loader is not None,
                                        storage_uri=masked_uri(settings.storage_uri)))
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


def _describe(settings: Settings, report: Report) -> Report:
    """The general lines, then each enabled method's own."""
    report.lines.append("methods: " + ", ".join(settings.methods))
    if settings.auth_disabled:
        report.warnings.append('authentication is OFF (OTC_AUTH_METHODS = ["none"]): every '
                               "caller is let in; never run a reachable server like this.")
    for method, own in settings.enabled:
        method.describe(own, report)
    _describe_limits(settings, report)
    describe_storage(settings, report)  # connects: each Redis's latency, policy, persistence
    report.lines.append(f"protect all views: {settings.protect_all}")
    return report


def _describe_limits(settings: Settings, report: Report) -> None:
    workers = report.workers
    storage = settings.ratelimit_storage_uri or "memory://"
    report.lines.append("rate limits: per caller "
                        + (" ; ".join(map(str, settings.ratelimit)) or "OFF")
                        + ", failed attempts per address "
                        + (" ; ".join(map(str, settings.failure_ratelimit)) or "OFF")
                        + f", storage {masked_uri(storage)}")
    if not settings.failure_ratelimit and not settings.auth_disabled:
        report.warnings.append("OTC_AUTH_FAILURE_RATELIMIT is off: nothing slows down guessing.")
    if storage.startswith("memory://") and workers > 1 and (
            settings.ratelimit or settings.failure_ratelimit):
        report.warnings.append(f"memory:// storage with {workers} workers: each worker counts "
                               "alone, so every limit is multiplied by the worker count; use "
                               "redis://.")
