"""`app logs`: the log lines of a deployment's pipeline steps, optionally followed."""

from __future__ import annotations

import click

from ...validation import dns_label
from .. import lookup
from ..complete import app_names
from ..session import Session, target_options


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option(
    "--deployment",
    "deployment_id",
    metavar="ID",
    help="Which deployment (default: NAME's latest in the environment).",
)
@click.option("--step", metavar="STEP", help="Only this step, e.g. build-image.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they come.")
@target_options
def logs(name: str, deployment_id: str | None, step: str | None, follow: bool) -> None:
    """Print the logs of the pipeline steps.

    Lines read `<step>: <line>`; the latest deployment's unless --deployment says otherwise.
    """
    lookup.app_name(name)
    if deployment_id:
        dns_label("--deployment", deployment_id)
    if step:
        dns_label("--step", step)
    session = Session.current()
    api = session.api({"query.step": "--step"})
    if not deployment_id:
        env = lookup.environment(api, session, name)
        deployment_id = lookup.latest(api, name, env)["id"]
    try:
        for line in api.lines(f"/deployments/{deployment_id}/logs", step=step,
                              follow="true" if follow else None):  # fmt: skip
            click.echo(line)
    except KeyboardInterrupt:
        if not follow:
            raise
