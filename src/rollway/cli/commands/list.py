"""`app list`: the applications you can see, per environment, with their latest deployment."""

from __future__ import annotations

from typing import Any

import click

from ..output import age, emit, output_option, table
from ..session import Session, target_options


@click.command("list")
@output_option
@target_options
def list_apps(output: str) -> None:
    """List applications per environment.

    Each with its latest deployment's version and state; --env and -n filter.
    """
    session = Session.current()
    api = session.api()
    apps = api.get("/apps").get("items") or []
    recent = api.get("/deployments", limit=500).get("items") or []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for d in recent:  # newest first: keep the first seen per app/env
        latest.setdefault((d["app"], d["env"]), d)
    rows = []
    for app in apps:
        for env in app.get("environments") or []:
            if session.env and env["name"] != session.env:
                continue
            if session.namespace and env.get("namespace") != session.namespace:
                continue
            rows.append({"app": app, "env": env, "latest": latest.get((app["name"], env["name"]))})
    if output != "table":
        emit([{"name": r["app"]["name"], "env": r["env"]["name"],
               "namespace": r["env"].get("namespace"), "strategy": r["app"]["strategy"],
               "artifact": r["app"]["artifact"], "project": r["app"]["project"],
               "latestDeployment": r["latest"]} for r in rows], output)  # fmt: skip
        return
    table(
        ["name", "env", "namespace", "strategy", "artifact", "version", "state", "age"],
        [
            (r["app"]["name"], r["env"]["name"], r["env"].get("namespace"), r["app"]["strategy"],
             r["app"]["artifact"], (r["latest"] or {}).get("version", "-"),
             (r["latest"] or {}).get("state", "-"), age((r["latest"] or {}).get("createdAt")))
            for r in rows
        ],
    )  # fmt: skip
