"""render: the team's chart + image digest + strategy → the manifests to apply (and, for dry
runs, what applying them would change in the cluster)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml

from ..chart import chartfile, values
from ..pipeline import GATE_BEFORE_APPLY, STRATEGIES
from ..rollouts.pauses import why_no_pause
from ..validation import dns_label
from ..workflows.binding import file_sha256
from . import outputs


@click.command("render")
@click.option("--chart", "chart_dir", required=True, type=click.Path(path_type=Path))
@click.option("--release", required=True, help="Release name: the chart names objects after it.")
@click.option("--namespace", required=True)
@click.option("--image", required=True, help="REPOSITORY@sha256:<digest> of the built image.")
@click.option("--strategy", required=True, type=click.Choice(STRATEGIES))
@click.option("--replicas", type=click.IntRange(min=0), help="Pods (default: the chart's).")
@click.option("--values-json", help="Values as one JSON object (strategy parameters, env, …).")
@click.option("--set", "sets", multiple=True, help="KEY=VALUE as helm --set takes it (repeatable).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--diff", is_flag=True, help="Also compare the objects with the live cluster.")
@click.option("--env", "env_name", help="The environment (names the judge's route).")
@click.option(
    "--analysis",
    "analysis_json",
    help="The app's canary analysis as JSON (rollway.analysis.config); empty: not judged.",
)
@outputs.option
def command(
    chart_dir: Path,
    release: str,
    namespace: str,
    image: str,
    strategy: str,
    replicas: int | None,
    values_json: str | None,
    sets: tuple[str, ...],
    out: Path,
    diff: bool,
    env_name: str | None,
    analysis_json: str | None,
    outputs_dir: Path,
) -> None:
    """Render the chart with `helm template`; with --diff, diff it against the cluster."""
    from ..chart import render  # asyncio and pyhelm3: imported only when the step runs

    dns_label("release", release, max_length=53)  # Helm's limit, leaving room for suffixes
    dns_label("namespace", namespace)
    chartfile.load(chart_dir)
    pipeline = {**values.image(image), "strategy": strategy}
    if replicas is not None:
        pipeline["replicas"] = replicas
    user = values.from_sets(sets, base=values.from_json(values_json))
    merged = values.build(user, pipeline)
    manifests = render.template(chart_dir, release, namespace, merged)
    if analysis_json:
        manifests = judged(
            manifests, release, env_name, values.from_json(analysis_json, "analysis")
        )
    write_atomically(out, yaml.safe_dump_all(manifests, sort_keys=False))
    no_pause = why_no_pause(manifests)
    result: dict[str, object] = {
        "manifests": str(out.resolve()),
        # What an approval binds to (workflows.binding), and where its gate goes: "plan" (the
        # plan is approved before apply) or "pause" (at the Rollout's pause for promotion).
        "manifests-sha256": file_sha256(out),
        "gate": GATE_BEFORE_APPLY if no_pause else "pause",
        "gate-reason": no_pause or "the Rollout waits for promotion before switching traffic",
        "object-count": str(len(manifests)),
        "objects": [f"{m.get('kind')}/{(m.get('metadata') or {}).get('name')}" for m in manifests],
    }
    if diff:
        from ..kube.apply import Applier
        from ..kube.diff import live_changes, summary

        changes = live_changes(Applier(), manifests, namespace)
        result["changes"] = summary(changes)
        result["diff"] = "".join(change.diff for change in changes)
        for change in changes:
            click.echo(f"{change.action:>9}  {change.kind}/{change.name}", err=True)
    outputs.emit(result, outputs_dir)


def judged(
    manifests: list[dict[str, Any]], app: str, env: str | None, analysis: dict[str, Any]
) -> list[dict[str, Any]]:
    """The manifests with Rollway's judge placed in the Rollout's strategy."""
    from ..analysis.placement import JudgeSettings, attach
    from ..analysis.plan import validated

    if not env:
        raise click.UsageError("--analysis needs --env")
    dns_label("env", env)
    config = validated(analysis, field="analysis")
    settings = JudgeSettings.from_env(os.environ)
    return attach(manifests, app=app, env=env, config=config, settings=settings)


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same directory, renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(name, 0o644)  # as a plain open() would create it: other containers read it
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
