"""`app whoami`: who the context's token says you are (user, roles, teams) and until when."""

from __future__ import annotations

import time
from typing import Any

import click

from ..claims import claims, groups, holder, roles
from ..output import duration, emit, output_option
from ..session import Session, target_options


@click.command()
@output_option
@target_options
def whoami(output: str) -> None:
    """Show who you are logged in as: user, roles, teams."""
    session = Session.current()
    token = session.access_token()
    data = claims(token)
    creds = session.credentials()
    info: dict[str, Any] = {
        "user": holder(data),
        "roles": roles(data),
        "groups": groups(data),
        "serviceAccount": str(data.get("preferred_username", "")).startswith("service-account-"),
        "context": session.context.name,
        "server": session.server,
        "issuer": data.get("iss"),
        "login": creds.grant,
        "expiresIn": max(0, int(creds.expires_at - time.time())),
    }
    if output != "table":
        emit(info, output)
        return
    for key, value in (
        ("User:", info["user"] + (" (service account)" if info["serviceAccount"] else "")),
        ("Roles:", ", ".join(info["roles"]) or "-"),
        ("Groups:", ", ".join(info["groups"]) or "-"),
        ("Context:", f"{info['context']} ({info['server']})"),
        ("Issuer:", info["issuer"]),
        ("Login:", f"{info['login']}, token valid for {duration(info['expiresIn'])}"),
    ):
        click.echo(f"{key:<9} {value}")
