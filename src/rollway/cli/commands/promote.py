"""`app promote`: let a paused release go on (or pass its approval gate)."""

from __future__ import annotations

import click

from ..actions import act_on_latest
from ..complete import app_names
from ..session import target_options


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option("--full", is_flag=True, help="Canary: skip the remaining steps and analysis.")
@target_options
def promote(name: str, full: bool) -> None:
    """Promote a paused release (or pass its approval gate).

    Blue-green switches traffic to the new version; canary goes on to its next step (--full:
    all the way). A deployment waiting at its approval gate is approved (approver role).
    """
    act_on_latest(name, "promote", {"full": full})
