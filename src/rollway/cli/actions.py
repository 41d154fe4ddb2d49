"""What promote, abort and retry share: act on the latest deployment of an app/environment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from . import lookup
from .session import Session

if TYPE_CHECKING:
    from .api import Api


def act_on_latest(name: str, action: str, body: dict[str, Any] | None = None) -> None:
    lookup.app_name(name)
    session = Session.current()
    api = session.api()
    env = lookup.environment(api, session, name)
    latest = lookup.latest(api, name, env)
    act(api, latest["id"], action, body)


def act(api: Api, deployment_id: str, action: str, body: dict[str, Any] | None = None) -> None:
    """POST the action; print the server's account of it and the deployment's state."""
    result = api.post(f"/deployments/{deployment_id}/{action}", body).json()
    deployment = result.get("deployment") or {}
    click.echo(f"deployment {deployment_id} ({deployment.get('app')}/{deployment.get('env')}): "
               f"{result.get('detail')}; state {deployment.get('state')}")  # fmt: skip
