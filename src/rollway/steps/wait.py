"""wait-rollout: watch a Rollout until it is Healthy (or Paused awaiting promotion)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from . import outputs

#: `--until` → the phases that end the wait successfully. A Rollout that is Healthy has passed
#: any pause, so waiting for a pause also ends there (a canary without pauses, a rolling update).
UNTIL = {
    "healthy": ("Healthy",),
    "paused-or-healthy": ("Paused", "Healthy"),
    "paused": ("Paused", "Healthy"),
}


@click.command("wait-rollout")
@click.option("--namespace", required=True)
@click.option("--name", required=True, help="Name of the Rollout.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=600.0)
@click.option(
    "--until",
    type=click.Choice(tuple(UNTIL)),
    default="healthy",
    show_default=True,
    help="paused-or-healthy (alias: paused) also stops at a pause awaiting promotion.",
)
@outputs.option
def command(namespace: str, name: str, timeout: float, until: str, outputs_dir: Path) -> None:
    """Wait for the Rollout's phase; Degraded or the timeout fail with the rollout's message."""
    from ..kube.client import load_api
    from ..rollouts import RolloutDegraded, RolloutInfo, wait_for_phase
    from ..rollouts.verdicts import analysis_reason

    def report(info: RolloutInfo) -> None:
        outputs.emit(
            {
                "phase": info.phase,
                "message": info.message,
                "revision": "" if info.revision is None else str(info.revision),
                "stable-hash": info.stable_hash,
                "active-hash": info.active_hash,
                "preview-hash": info.preview_hash,
                "canary-hash": info.canary_hash,
                "images": [image.image for image in info.images],
            },
            outputs_dir,
        )

    def progress(phase: str, message: str) -> None:
        click.echo(f"rollout {name}: {phase}{' - ' + message if message else ''}", err=True)

    try:
        info = wait_for_phase(
            None, namespace, name, until=UNTIL[until], timeout=timeout, on_change=progress
        )
    except RolloutDegraded as err:
        # An analysis that stopped the rollout says why in its judge's words, when it has them.
        reason = analysis_reason(load_api(), namespace, name)
        info = dataclasses.replace(err.info, message=reason) if reason else err.info
        report(info)  # the workflow still records where the rollout stopped
        if reason:
            raise RolloutDegraded(info) from None
        raise
    report(info)
