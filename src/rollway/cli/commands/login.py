"""`app login`: get tokens from Keycloak and keep them in the context.

People use the device authorization grant (a code confirmed in a browser, possibly on another
machine); scripts the password grant with the password on stdin; CI the client-credentials
grant with the secret from ROLLWAY_CLIENT_SECRET or stdin. Secrets never go on the command line.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ...errors import InvalidInput
from ..claims import claims, holder
from ..session import Session, target_options


@click.command()
@click.option("--username", "-u", metavar="USER", help="Log in with a password (direct grant).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--client-credentials",
    is_flag=True,
    help="Log in as a service account (CI): client id and secret, no user.",
)
@click.option(
    "--client-id",
    metavar="ID",
    help="Keycloak client (default: the context's; with --client-credentials, ROLLWAY_CLIENT_ID).",
)
@click.option("--keycloak-url", metavar="URL", help="Keycloak base URL (kept in the context).")
@click.option("--realm", metavar="REALM", help="Keycloak realm (kept in the context).")
@target_options
def login(
    username: str | None,
    password_stdin: bool,
    client_credentials: bool,
    client_id: str | None,
    keycloak_url: str | None,
    realm: str | None,
) -> None:
    """Log in through Keycloak; tokens are kept in the context.

    \b
    app login                                   # device code: open the URL, confirm the code
    app login -u alice --password-stdin < pw    # password grant
    ROLLWAY_CLIENT_SECRET=… app login --client-credentials --client-id rollway-ci
    """  # fmt: skip
    from .. import oidc

    if password_stdin and not username:
        raise click.UsageError("--password-stdin needs --username")
    if client_credentials and username:
        raise click.UsageError("--client-credentials and --username exclude each other")
    session = Session.current(create=True)
    context = session.context
    context.server = session.server
    context.keycloak_url = keycloak_url or context.keycloak_url
    context.realm = realm or context.realm
    if client_credentials:
        client_id = client_id or os.environ.get("ROLLWAY_CLIENT_ID")
        if not client_id:
            raise InvalidInput("is required with --client-credentials (or set ROLLWAY_CLIENT_ID)",
                               field="--client-id")  # fmt: skip
        creds = oidc.client_credentials_login(context, client_id, _client_secret())
    elif username:
        password = _secret("Password", from_stdin=password_stdin, flag="--password-stdin")
        creds = oidc.password_login(context, client_id or context.client_id, username, password)
    else:
        creds = oidc.device_login(context, client_id or context.client_id, _show_device_code)
    session.save_credentials(creds)
    who = holder(claims(creds.access_token))
    click.echo(f"Logged in as {who} to {context.server} (context {context.name}).")


def _client_secret() -> str:
    secret = os.environ.get("ROLLWAY_CLIENT_SECRET")
    if secret:
        return secret
    return _secret("Client secret", from_stdin=True, flag="stdin or ROLLWAY_CLIENT_SECRET")


def _secret(prompt: str, *, from_stdin: bool, flag: str) -> str:
    """A secret from stdin's first line (when asked, or piped), else typed without echo."""
    if from_stdin and not sys.stdin.isatty():
        value = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        value = click.prompt(prompt, hide_input=True, err=True)
    else:
        raise InvalidInput("no terminal to ask for it; pass it on stdin", field=flag)
    if not value:
        raise InvalidInput("is empty", field=flag)
    return value


def _show_device_code(grant: dict[str, Any]) -> None:
    url = grant.get("verification_uri_complete") or grant.get("verification_uri")
    click.echo("To log in, open this URL in a browser:", err=True)
    click.echo(f"  {url}", err=True)
    click.echo(f"and check that it shows the code {grant.get('user_code')}.", err=True)
    click.echo("Waiting for the login to be confirmed (Ctrl-C to give up)…", err=True)
