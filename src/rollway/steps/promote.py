"""`rollway-step promote`: promote a paused Rollout, as `kubectl argo rollouts promote` does."""

from __future__ import annotations

import click

from .outputs import emit


@click.command()
@click.option("--namespace", required=True)
@click.option("--name", required=True, help="Rollout name")
@click.option("--full", is_flag=True, help="Skip remaining steps and analysis")
def command(namespace: str, name: str, full: bool) -> None:
    """Promote the Rollout (after the approval gate, when the pipeline runs it)."""
    from ..rollouts import RolloutsClient

    info = RolloutsClient().promote(namespace, name, full=full)
    emit({"phase": info.phase, "revision": str(info.revision)})
