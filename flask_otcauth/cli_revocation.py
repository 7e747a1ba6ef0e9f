"""``flask otcauth revoke``: revoke a token, cut off a subject, client, tenant or issuer,
disable a key, from any process that loads the app.

The entries go to the app's shared storage (``OTC_AUTH_STORAGE_URI``), so on Redis every
worker refuses the credential from its next request: nothing to restart. Each command takes
``--undo`` to lift its entry and ``--status`` to print it. Nothing printed names more than
the operator typed: a ``jti``, an id, a time.
"""

from __future__ import annotations

from datetime import datetime, timezone

import click
from flask.cli import AppGroup

from .core.revocation import KEY_METHODS, SCOPES, Revocations
from .core.storage import StorageUnavailable
from .revocation_api import revocations_of

revoke_cli = AppGroup("revoke", help="Revoke tokens, cut off callers, disable keys "
                                     "(OTC_AUTH_REVOCATION on).")


def _revocations() -> Revocations:
    try:
        return revocations_of()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")


def _unavailable() -> click.ClickException:
    return click.ClickException("the shared storage (OTC_AUTH_STORAGE_URI) did not answer: "
                                "nothing was changed; retry.")


@revoke_cli.command("token")
@click.argument("jti")
@click.option("--issuer", default="", help="The token's iss (default: none, this server's "
                                           "own OTC tokens).")
@click.option("--exp", "expires_at", type=float,
              help="The token's exp (Unix time): the entry is kept until then plus the leeway "
                   "(default: the longest token lifetime from now).")
@click.option("--undo", is_flag=True, help="Lift the revocation.")
@click.option("--status", is_flag=True, help="Print whether the token is revoked.")
def revoke_token_command(jti: str, issuer: str, expires_at: float | None, undo: bool,
                         status: bool) -> None:
    """Refuse the token with this jti, whatever the bytes of its signature."""
    revocations = _revocations()
    try:
        if status:
            revoked = revocations.is_token_revoked(jti, issuer=issuer)
            click.echo(f"token {jti}: " + ("revoked" if revoked else "not revoked"))
        elif undo:
            revocations.unrevoke_token(jti, issuer=issuer)
            click.echo(f"token {jti}: revocation lifted")
        else:
            revocations.revoke_token(jti, issuer=issuer, expires_at=expires_at)
            click.echo(f"token {jti}: revoked")
    except StorageUnavailable:
        raise _unavailable() from None


@revoke_cli.command("before")
@click.argument("scope", type=click.Choice(SCOPES))
@click.argument("value")
@click.option("--at", "before", type=float,
              help="The cut-off (Unix time): tokens issued before it are refused (default: "
                   "now).")
@click.option("--undo", is_flag=True, help="Lift the cut-off.")
@click.option("--status", is_flag=True, help="Print the cut-off in force.")
def revoke_before_command(scope: str, value: str, before: float | None, undo: bool,
                          status: bool) -> None:
    """Refuse every token of a subject, client, tenant or issuer issued before a time."""
    revocations = _revocations()
    try:
        if status:
            cut = revocations.cut_off(scope, value)
            click.echo(f"{scope} {value}: " + ("no cut-off" if cut is None
                                               else f"tokens issued before {_when(cut)} refused"))
        elif undo:
            revocations.remove_cut_off(scope, value)
            click.echo(f"{scope} {value}: cut-off lifted")
        else:
            cut = revocations.revoke_before(scope, value, before)
            click.echo(f"{scope} {value}: tokens issued before {_when(cut)} refused")
    except StorageUnavailable:
        raise _unavailable() from None


@revoke_cli.command("key")
@click.argument("method", type=click.Choice(KEY_METHODS))
@click.argument("key_id", metavar="ID")
@click.option("--undo", is_flag=True, help="Enable the key again.")
@click.option("--status", is_flag=True, help="Print whether the key is disabled.")
def revoke_key_command(method: str, key_id: str, undo: bool, status: bool) -> None:
    """Disable an API key record id or an hmac client id on every worker at once."""
    revocations = _revocations()
    try:
        if status:
            disabled = revocations.is_key_revoked(method, key_id)
            click.echo(f"{method} {key_id}: " + ("disabled" if disabled else "enabled"))
        elif undo:
            revocations.unrevoke_key(method, key_id)
            click.echo(f"{method} {key_id}: enabled again")
        else:
            revocations.revoke_key(method, key_id)
            click.echo(f"{method} {key_id}: disabled")
    except StorageUnavailable:
        raise _unavailable() from None
