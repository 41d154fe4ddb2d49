"""`app abort`: stop a deployment in flight and roll the Rollout back to the stable version."""

from __future__ import annotations

import click

from ..actions import act_on_latest
from ..complete import app_names
from ..session import target_options


@click.command()
@click.argument("name", shell_complete=app_names)
@target_options
def abort(name: str) -> None:
    """Abort the deployment in flight; back to the stable version.

    Its workflow stops and the Rollout is aborted: traffic returns to the stable version.
    """
    act_on_latest(name, "abort")
