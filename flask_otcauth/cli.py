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
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from .cli_revocation import revoke_cli
from .core.identity import key_fingerprint, sha256
from .core.keys import ENVIRONMENTS, generate_key, hash_key, is_plausible
from .core.methods.base import Report
from .core.methods.jwt import JWT, MintError, mint_token
from .core.refusals import OTCAuthConfigError
from .core.scopes import SCOPELESS_GRANTS, ScopeError, checked_scopes
from .core.settings import Settings, load_settings
from .core.storage import masked_uri
from .core.storage_report import describe_storage
from .state import app_state


class OTCAuthGroup(AppGroup):
    """``flask otcauth``: every command answers a configuration error with one line.

    A command that needs the app (``mint-token``, ``check``, any added later) gets it from
    Flask's ``ScriptInfo.load_app``, which calls the app factory, whose ``init_app`` raises
    :class:`OTCAuthConfigError` before the command's own code runs: no ``try`` in a command can
    catch it, and click would print the whole traceback (45 lines for ``mint-token``). Caught
    here, around every command of the group, it is the line ``check`` prints, and exit code 1.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OTCAuthConfigError as error:
            click.echo(config_error_line(error), err=True)
            ctx.exit(1)


def config_error_line(error: OTCAuthConfigError) -> str:
    """The one line a configuration error is reported as (its message names key and fix)."""
    return "error: " + " ".join(str(error).split())


otcauth_cli = OTCAuthGroup("otcauth",
                           help="flask-otcauth: API keys, test tokens, configuration check, "
                                "revocation.")
otcauth_cli.add_command(revoke_cli)


@otcauth_cli.command("generate-key", with_appcontext=False)
@click.option("--env", type=click.Choice(ENVIRONMENTS), default="live", show_default=True,
              help="live for production keys, test for everything else.")
@click.option("--id", "record_id", help="Whose key it is (the identity's subject).")
@click.option("--scope", "scopes", multiple=True, help="A scope the key grants; repeatable.")
@click.option("--no-scopes", is_flag=True,
              help='Write "scopes": [] (the key may pass only views that require no scope), '
                   "rather than leaving the key to OTC_AUTH_SCOPELESS_GRANTS.")
@click.option("--tenant", help="The tenant the key belongs to.")
def generate_key_command(env: str, record_id: str | None, scopes: tuple[str, ...],
                         no_scopes: bool, tenant: str | None) -> None:
    """Print a new API key once, and its record (hash only) for OTC_AUTH_API_KEYS.

    Without --scope (or --no-scopes) the record has no "scopes": the key then carries no
    scope information and may do what the app's OTC_AUTH_SCOPELESS_GRANTS grants.
    """
    if scopes and no_scopes:
        raise click.UsageError("--scope and --no-scopes contradict each other: give one.")
    try:
        granted = checked_scopes(scopes)
    except ScopeError as error:
        raise click.BadParameter(str(error), param_hint="--scope") from None
    key = generate_key(env)
    record: dict[str, object] = {
        "id": record_id or key_fingerprint(sha256(key.encode("ascii"))),
        "hash": hash_key(key),
    }
    if scopes or no_scopes:
        record["scopes"] = sorted(granted)
    if tenant is not None:
        record["tenant"] = tenant
    click.echo(f"API key (shown once; give it to its holder, it is not stored): {key}")
    click.echo("Record for OTC_AUTH_API_KEYS or your key table:")
    click.echo(json.dumps(record))
    click.echo("What the key may do: " + _key_allowance(granted, no_scopes))


def _key_allowance(granted: frozenset[str], no_scopes: bool) -> str:
    """Said with the record: a key without scopes is held to a setting of the app's."""
    if granted:
        return ("exactly its scopes, " + " ".join(sorted(granted))
                + f", whatever {SCOPELESS_GRANTS} says.")
    if no_scopes:
        return (f'nothing that needs a scope ("scopes": []), whatever {SCOPELESS_GRANTS} '
                "says: it passes only views that require no scope.")
    return (f'the record has no "scopes", so the key may do what the app\'s {SCOPELESS_GRANTS} '
            "grants; that is nothing beyond views that require no scope while it is [] (the "
            "library's default). To hold the key to scopes of its own, generate it with "
            "--scope (repeatable).")


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
    # A configuration init_app refuses is reported by the group, as one line.
    app = _load_app()
    state = app_state(app)
    # The app's config as it is now: it may have been edited since init_app.
    settings = load_settings(app.config, methods=state.settings.registered,
                             has_key_loader=state.key_loader is not None,
                             has_limiter=state.limiter is not None)
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
    _describe_https(settings, report)
    _describe_scopeless_grants(settings, report)
    _describe_policies(settings, report)
    if settings.tool_signer is not None:
        line, warning = settings.tool_signer.describe()
        report.lines.append(line)
        if warning is not None:
            report.warnings.append(warning)
    return report


def _describe_policies(settings: Settings, report: Report) -> None:
    """Token clients' policies and the address binding; records name their own policy."""
    if settings.client_policies:
        report.lines.append("client policies: " + ", ".join(
            f'"{client}"' for client in sorted(settings.client_policies)))
    if settings.token_address_claim is not None:
        report.lines.append(f"tokens bound to the caller's address by the "
                            f"{settings.token_address_claim} claim (a token without it is "
                            "refused; behind a proxy, apply ProxyFix)")


def _describe_scopeless_grants(settings: Settings, report: Report) -> None:
    """The OTC spec knows no scopes: its tokens and plain keys carry none, so what they may do
    on a scoped view is what OTC_AUTH_SCOPELESS_GRANTS grants them."""
    if settings.auth_disabled:
        return
    granted = " ".join(sorted(settings.scopeless_grants))
    report.lines.append("credentials without scopes are granted: " + (granted or "nothing"))
    if not granted:
        report.warnings.append(
            "OTC_AUTH_SCOPELESS_GRANTS is empty: a credential that carries no scope information "
            "(a spec token without scope or scp, a plain key, a record or client without "
            "scopes) gets 403 insufficient_scope on every view that requires a scope; grant "
            'what such callers may do (e.g. ["tools:list", "tools:call:*"]), or give every '
            "credential its scopes.")


def _describe_https(settings: Settings, report: Report) -> None:
    if settings.auth_disabled:
        return
    if settings.require_https:
        report.lines.append("require https: on (a credential sent over plain HTTP gets 403 "
                            "https_required; behind a TLS-terminating proxy, let ProxyFix pass "
                            "its X-Forwarded-Proto)")
        return
    report.lines.append("require https: OFF")
    report.warnings.append("OTC_AUTH_REQUIRE_HTTPS is off (set false, or unset with DEBUG or "
                           "TESTING on): keys, tokens and signatures are accepted over plain "
                           "HTTP, where anyone on the way can read and replay them, and the OTC "
                           "spec sends credentials over secure connections only; terminate TLS "
                           "in front of the server and turn it on.")


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
