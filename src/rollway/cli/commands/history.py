"""`app history`: an app's deployments in an environment, and the Rollout revisions kept for
rollback (with the deployment that made each)."""

from __future__ import annotations

import click

from ...errors import NotFound
from .. import lookup
from ..complete import app_names
from ..output import age, duration, emit, output_option, table
from ..session import Session, target_options


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option(
    "--limit",
    type=click.IntRange(1, 500),
    default=20,
    show_default=True,
    help="How many deployments, newest first.",
)
@output_option
@target_options
def history(name: str, limit: int, output: str) -> None:
    """Show deployments and Rollout revisions.

    The revisions are those `app rollback --to-revision N` can go back to.
    """
    lookup.app_name(name)
    session = Session.current()
    api = session.api()
    env = lookup.environment(api, session, name)
    deployments = api.get("/deployments", app=name, env=env, limit=limit).get("items") or []
    try:
        revisions = api.get(f"/apps/{name}/environments/{env}/rollout/history").get("items") or []
    except NotFound:  # never applied: no Rollout yet
        revisions = []
    if output != "table":
        emit({"deployments": deployments, "revisions": revisions}, output)
        return
    table(
        ["deployment", "kind", "version", "strategy", "state", "by", "age", "duration"],
        [
            (d["id"], d["kind"], d["version"], d["strategy"], d["state"], d["createdBy"],
             age(d["createdAt"]), _took(d))
            for d in deployments
        ],
    )  # fmt: skip
    click.echo()
    table(
        ["revision", "status", "health", "images", "deployment", "age"],
        [
            (r["revision"], r["status"], r["health"], ",".join(r["images"]),
             r.get("deploymentId") or "-", age(r.get("created")))
            for r in revisions
        ],
    )  # fmt: skip


def _took(d: dict[str, str]) -> str:
    from datetime import datetime

    start, end = d.get("startedAt"), d.get("finishedAt")
    if not start or not end:
        return "-"
    return duration((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
