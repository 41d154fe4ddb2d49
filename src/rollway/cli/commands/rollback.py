"""`app rollback`: put a previous revision of the Rollout back."""

from __future__ import annotations

import click

from .. import lookup
from ..complete import app_names
from ..session import Session, target_options


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option(
    "--to-revision",
    type=click.IntRange(1),
    metavar="N",
    help="Revision to go back to (default: the previous one; see app history).",
)
@target_options
def rollback(name: str, to_revision: int | None) -> None:
    """Roll back to an earlier Rollout revision.

    As `kubectl argo rollouts undo` does; refused while a deployment is in flight (abort it
    first). `app history NAME` lists the revisions. Blue-green switches at once only to an
    older revision whose pods are still up; otherwise it comes up as the preview and
    `app promote NAME` switches to it.
    """
    lookup.app_name(name)
    session = Session.current()
    api = session.api({"body.revision": "--to-revision"})
    env = lookup.environment(api, session, name)
    body = {"revision": to_revision} if to_revision else None
    rollout = api.post(f"/apps/{name}/environments/{env}/rollout/rollback", body).json()
    click.echo(f"rollout {rollout.get('name')} ({name}/{env}) rolled back to revision "
               f"{rollout.get('restoredRevision', rollout.get('revision'))}; "
               f"phase {rollout.get('phase')}")  # fmt: skip
    click.echo(f"hint: follow it with: app status {name} --watch", err=True)
