"""`app logout`: end the Keycloak session and forget the context's tokens."""

from __future__ import annotations

import click

from ...errors import RollwayError
from ..session import Session, target_options


@click.command()
@target_options
def logout() -> None:
    """Log out: end the Keycloak session, forget the tokens."""
    session = Session.current()
    creds = session.context.credentials
    if creds is None:
        click.echo(f"Not logged in (context {session.context.name}).")
        return
    from .. import oidc

    try:
        oidc.logout(session.context, creds)
    except RollwayError as err:  # the local tokens go anyway; say what was not done
        click.echo(f"warning: the Keycloak session was not ended: {err}", err=True)
    session.save_credentials(None)
    click.echo(f"Logged out (context {session.context.name}).")
