"""`app status`: the latest deployment of an app (pipeline steps) and its Rollout, live with
--watch, in the spirit of `kubectl argo rollouts get rollout --watch`."""

from __future__ import annotations

import click

from .. import lookup
from ..complete import app_names
from ..errors import DeploymentFailed
from ..output import emit, output_option
from ..session import Session, target_options

FAILED = ("failed", "aborted", "rejected")


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option(
    "--watch",
    "-w",
    is_flag=True,
    help="Redraw as it changes, until the deployment finishes (Ctrl-C stops watching).",
)
@output_option
@target_options
def status(name: str, watch: bool, output: str) -> None:
    """Show the latest deployment and its Rollout.

    \b
    Pipeline steps with phase and duration; then the Rollout as the Argo Rollouts plugin shows
    it: blue-green active and preview revisions, canary step, set and actual weight, and the
    ReplicaSets with their pods. Exits 1 when the deployment failed or the Rollout is Degraded.
    """
    lookup.app_name(name)
    if watch and output != "table":
        raise click.BadParameter(
            "--watch draws the live view: use it with -o table", param_hint="-o"
        )
    session = Session.current()
    api = session.api()
    env = lookup.environment(api, session, name)
    deployment, rollout, rollout_error = lookup.status(api, name, env)
    if output != "table":
        emit({"deployment": deployment, "rollout": rollout, "rolloutError": rollout_error}, output)
    elif watch and deployment["state"] not in (*FAILED, "succeeded"):
        from ..follow import follow

        _, last = follow(api, deployment["id"], until_paused=False, stderr=False)
        deployment, rollout = last.deployment, last.rollout
    else:
        from ..output import show
        from ..view.status import status_view

        show(status_view(deployment, rollout, rollout_error))
    if deployment["state"] in FAILED or (rollout or {}).get("phase") == "Degraded":
        what = f"deployment {deployment['id']} {deployment['state']}"
        if (rollout or {}).get("phase") == "Degraded":
            what += f"; rollout {rollout['name']} is Degraded"  # type: ignore[index]
        raise DeploymentFailed(what)
