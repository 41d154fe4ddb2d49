"""`app upgrade`: roll a new version of a deployed application out, blue-green or canary."""

from __future__ import annotations

from typing import Any

import click

from ...pipeline import CANARY, PROGRESSIVE_STRATEGIES
from ...validation import MAVEN_ID
from .. import lookup, params
from ..complete import app_names
from ..output import output_option
from ..session import Session, target_options
from ..start import FLAGS, start


def _version(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not MAVEN_ID.fullmatch(value):
        raise click.BadParameter("must be a Maven version (letters, digits, '.', '_', '-'), "
                                 "LATEST or RELEASE")  # fmt: skip
    return value


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option(
    "--version",
    "version",
    required=True,
    callback=_version,
    help="Version of the application's artifact (or LATEST, RELEASE).",
)
@click.option(
    "--strategy",
    type=click.Choice(PROGRESSIVE_STRATEGIES),
    help="Release strategy (default: the application's).",
)
@click.option(
    "--canary-steps",
    metavar="STEPS",
    help="Canary weights, e.g. 20,50,100 (paused for promotion between them), or "
    "with explicit pauses: 20,pause:30s,50,pause,100.",
)
@click.option(
    "--auto-promote",
    is_flag=True,
    help="Blue-green: switch traffic as soon as the new version is ready.",
)
@params.set_option
@click.option(
    "--wait", is_flag=True, help="Follow the upgrade until it succeeds, fails or awaits promotion."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan and the manifest diff; change nothing."
)
@output_option
@target_options
def upgrade(
    name: str,
    version: str,
    strategy: str | None,
    canary_steps: str | None,
    auto_promote: bool,
    values: dict[str, Any],
    wait: bool,
    dry_run: bool,
    output: str,
) -> None:
    """Upgrade an application to another version.

    With blue-green the new version starts behind the preview Service and waits for
    `app promote` (unless --auto-promote); with canary it takes traffic step by step. --wait
    returns once the rollout waits for promotion (exit 0) or the upgrade ended.

    \b
    app upgrade hello --version 1.1.0 --strategy bluegreen --wait
    app upgrade hello --version 1.1.0 --strategy canary --canary-steps 20,50,100
    """  # fmt: skip
    lookup.app_name(name)
    steps = params.canary_steps(canary_steps)
    if steps is not None and strategy not in (CANARY, None):
        raise click.BadParameter("applies to the canary strategy", param_hint="--canary-steps")
    if auto_promote and strategy == CANARY:
        raise click.BadParameter(
            "applies to blue-green; give canary pauses a duration instead (20,pause:30s,50)",
            param_hint="--auto-promote",
        )
    session = Session.current()
    api = session.api(FLAGS)
    env = lookup.environment(api, session, name)
    overrides: dict[str, Any] = {"set": values}
    if steps is not None:
        overrides["canarySteps"] = steps
    if auto_promote:
        overrides["autoPromote"] = True
    body: dict[str, Any] = {"kind": "upgrade", "env": env, "version": version,
                            "overrides": overrides}  # fmt: skip
    if strategy:
        body["strategy"] = strategy
    start(api, name, body, dry_run=dry_run, wait=wait, output=output)
