"""Starting a deployment (deploy and upgrade share it): the dry-run plan, or the request, then
optionally following it to its outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .errors import DeploymentFailed
from .output import emit

if TYPE_CHECKING:
    from .api import Api

#: API request fields → the flags they come from, so errors name the flag.
FLAGS = {
    "body.env": "--env",
    "body.version": "--version",
    "body.strategy": "--strategy",
    "body.kind": "the command",
    "body.overrides.set": "--set",
    "body.overrides.replicas": "--replicas",
    "body.overrides.canarySteps": "--canary-steps",
    "body.overrides.autoPromote": "--auto-promote",
}


def start(
    api: Api, app: str, body: dict[str, Any], *, dry_run: bool, wait: bool, output: str
) -> None:
    path = f"/apps/{app}/deployments"
    if dry_run:
        plan = api.post(path, body, params={"dryRun": "true"}).json()
        if output == "table":
            from .view.plan import print_plan

            print_plan(plan)
        else:
            emit(plan, output)
        return
    deployment = api.post(path, body).json()
    if output == "table":
        click.echo(
            f"deployment {deployment['id']} started: {deployment['kind']} {app} "
            f"{deployment['version']} to {deployment['env']} ({deployment['strategy']})"
        )
    if not wait:
        if output == "table":
            click.echo(f"hint: follow it with: app status {app} --watch", err=True)
        else:
            emit(deployment, output)
        return
    from .follow import follow

    outcome, last = follow(api, deployment["id"], until_paused=True, stderr=True)
    if output != "table":
        emit(last.deployment, output)
    if outcome.exit_code:
        raise DeploymentFailed(outcome.message, hint=outcome.hint)
    click.echo(outcome.message)
    if outcome.hint:
        click.echo(f"hint: {outcome.hint}", err=True)
