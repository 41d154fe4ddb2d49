"""`app retry`: run the failed steps of NAME's latest deployment again."""

from __future__ import annotations

import click

from ..actions import act_on_latest
from ..complete import app_names
from ..session import target_options


@click.command()
@click.argument("name", shell_complete=app_names)
@target_options
def retry(name: str) -> None:
    """Retry the latest deployment, if it failed or was aborted.

    The steps that succeeded are kept; the others run again.
    """
    act_on_latest(name, "retry")
