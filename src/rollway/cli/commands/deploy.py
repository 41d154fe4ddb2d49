"""`app deploy`: deploy a version of an artifact, registering the application first if needed.

The API deploys registered applications only (chart, artifact, environments, project), so a
first deploy registers it from the flags, and a deploy that names another artifact, chart or
environment updates the registration (saying so) before the deployment request. Both go through
the API's conditional PUT, as any portal's would: a registration only where the name is free
(If-None-Match: *), an update only of the version read (If-Match); when another edit got in
first, the deploy reads the application again and makes its change to that, so concurrent
deploys never lose each other's edit.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import click

from ...errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from ...pipeline import STRATEGIES
from .. import lookup
from ..complete import app_names
from ..output import output_option
from ..params import Artifact, Chart, set_option
from ..session import Session, target_options
from ..start import FLAGS, start

if TYPE_CHECKING:
    from ..api import Api

#: Reads of the registration one deploy makes while other edits keep getting in first.
ATTEMPTS = 3
REGISTRATION_FLAGS = {
    "body.chart.repo": "--chart",
    "body.chart.path": "--chart (path)",
    "body.chart.ref": "--chart (ref)",
    "body.artifact": "--artifact",
    "body.project": "--project",
    "body.strategy": "--strategy",
}


@click.command()
@click.argument("name", shell_complete=app_names)
@click.option(
    "--artifact",
    type=Artifact(),
    required=True,
    help="Maven coordinates; the version defaults to RELEASE (the newest release).",
)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    help="Release strategy (default: the application's).",
)
@click.option(
    "--chart",
    type=Chart(),
    help="Git repository of the Helm chart, e.g. https://git/org/charts.git//charts/app@main "
    "(needed to register a new application).",
)
@set_option
@click.option("--replicas", type=click.IntRange(0, 1000), help="Number of pods.")
@click.option(
    "--project",
    metavar="PROJECT",
    help="Project of a new application (default: the only project you deploy in).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Follow the deployment until it succeeds, fails or awaits promotion.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan and the manifest diff; change nothing."
)
@output_option
@target_options
def deploy(
    name: str,
    artifact: tuple[str, str | None],
    strategy: str | None,
    chart: dict[str, str] | None,
    values: dict[str, str],
    replicas: int | None,
    project: str | None,
    wait: bool,
    dry_run: bool,
    output: str,
) -> None:
    """Deploy an application from a jar in Maven.

    The jar of --artifact is built into an image, the chart rendered and the result rolled out
    by Argo Rollouts. A first deploy registers NAME (needs --chart and --env).

    \b
    app deploy hello --artifact com.example:hello:1.0.0 --env dev \\
        --chart http://git.example/rollway/charts.git//charts/app@main --wait
    """  # fmt: skip
    lookup.app_name(name)
    session = Session.current()
    api = session.api({**FLAGS, **REGISTRATION_FLAGS, "body.version": "--artifact (version)"})
    group_artifact, version = artifact
    wanted = Wanted(name, session.env, session.namespace, group_artifact, strategy, chart, project)
    env = _registered(api, wanted, dry_run=dry_run)
    if env is None:
        return
    body: dict[str, Any] = {"kind": "deploy", "env": env, "version": version or "RELEASE"}
    if strategy:
        body["strategy"] = strategy
    overrides: dict[str, Any] = {"set": values}
    if replicas is not None:
        overrides["replicas"] = replicas
    body["overrides"] = overrides
    start(api, name, body, dry_run=dry_run, wait=wait, output=output)


@dataclasses.dataclass(frozen=True)
class Wanted:
    """What the flags ask of the registration."""

    name: str
    env: str | None
    namespace: str | None
    artifact: str  # group:artifact
    strategy: str | None
    chart: dict[str, str] | None
    project: str | None


def _registered(api: Api, wanted: Wanted, *, dry_run: bool) -> str | None:
    """The environment to deploy to, once the registration holds what the flags ask; None: a
    dry run of an application not registered yet (the server plans registered ones only)."""
    taken = False
    for _ in range(ATTEMPTS):
        found = _registration(api, wanted.name)
        if found is None:
            if taken:  # the name is taken, yet the application cannot be read
                raise Conflict(
                    f"application '{wanted.name}' already exists in a project you have no role in",
                    hint="deploy under another NAME",
                )
            try:
                return _register(api, wanted, dry_run=dry_run)
            except PreconditionFailed:
                taken = True  # registered meanwhile: read it, and update it if need be
                continue
        registered, etag = found
        env = wanted.env or _default_env(registered, wanted.namespace)
        changed = _updated(registered, env, wanted.namespace, wanted.artifact, wanted.chart)
        if changed is None:
            return env
        what, spec = changed
        if dry_run:
            click.echo(f"would update application {wanted.name}: {what} (the plan below is "
                       "for the current registration)")  # fmt: skip
            return env
        try:
            api.put(f"/apps/{wanted.name}", spec, headers={"If-Match": etag})
        except PreconditionFailed:
            continue  # changed meanwhile: make the change to what it is now
        click.echo(f"application {wanted.name} updated: {what}", err=True)
        return env
    raise Conflict(
        f"application {wanted.name} changed {ATTEMPTS} times while this deploy updated it",
        hint="run the deploy again",
    )


def _register(api: Api, wanted: Wanted, *, dry_run: bool) -> str | None:
    """Register the application from the flags (If-None-Match: *: only if the name is free)."""
    env = wanted.env or _default_env(None, wanted.namespace)
    spec = _new_app(wanted, env)
    if dry_run:
        click.echo(f"would register application {wanted.name}: artifact {wanted.artifact}, "
                   f"chart {_chart_text(spec['chart'])}, environment {env}, project "
                   f"{spec.get('project') or '(the only one you deploy in)'}")  # fmt: skip
        click.echo("(the server plans deployments of registered applications only: "
                   "run without --dry-run to register it and deploy)")  # fmt: skip
        return None
    registered = api.put(f"/apps/{wanted.name}", spec, headers={"If-None-Match": "*"})
    click.echo(f"application {wanted.name} registered in project {registered['project']}",
               err=True)  # fmt: skip
    return env


def _default_env(registered: dict[str, Any] | None, namespace: str | None) -> str:
    if registered is None:
        raise InvalidInput("is needed to register a new application", field="--env")
    if namespace:
        return lookup.in_namespace(registered, namespace)
    return lookup.only_environment(registered)


def _registration(api: Api, name: str) -> tuple[dict[str, Any], str] | None:
    """The application as registered, and its ETag; None: not registered (or not visible)."""
    try:
        response = api.call("GET", f"/apps/{name}")
    except NotFound:
        return None
    return dict(response.json()), response.headers["ETag"]


def _new_app(wanted: Wanted, env: str) -> dict[str, Any]:
    """The PUT body registering the application (its name is the path's)."""
    if wanted.chart is None:
        raise InvalidInput(
            f"is needed: '{wanted.name}' is not registered yet",
            field="--chart",
            hint="--chart REPO[//PATH][@REF], the git repository of its Helm chart",
        )
    environment: dict[str, Any] = {"name": env}
    if wanted.namespace:
        environment["namespace"] = wanted.namespace
    spec: dict[str, Any] = {
        "environments": [environment],
        "chart": wanted.chart,
        "artifact": wanted.artifact,
    }
    if wanted.project:
        spec["project"] = wanted.project
    if wanted.strategy:
        spec["strategy"] = wanted.strategy
    return spec


def _updated(
    app: dict[str, Any],
    env: str,
    namespace: str | None,
    group_artifact: str,
    chart: dict[str, str] | None,
) -> tuple[str, dict[str, Any]] | None:
    """What the flags change in the registration, and the full spec to PUT; None: nothing."""
    spec = {
        k: v for k, v in app.items() if k not in ("name", "createdBy", "createdAt", "updatedAt")
    }
    what: list[str] = []
    if spec["artifact"] != group_artifact:
        what.append(f"artifact {spec['artifact']} → {group_artifact}")
        spec["artifact"] = group_artifact
    if chart is not None:
        wanted = {**spec["chart"], **chart}
        if wanted != spec["chart"]:
            what.append(f"chart {_chart_text(spec['chart'])} → {_chart_text(wanted)}")
            spec["chart"] = wanted
    if env not in [e["name"] for e in spec["environments"]]:
        environment = {"name": env, **({"namespace": namespace} if namespace else {})}
        spec["environments"] = [*spec["environments"], environment]
        what.append(f"environment {env} added")
    return ("; ".join(what), spec) if what else None


def _chart_text(chart: dict[str, str]) -> str:
    text = chart["repo"]
    if chart.get("path"):
        text += f"//{chart['path']}"
    return text + (f"@{chart['ref']}" if chart.get("ref") else "")
