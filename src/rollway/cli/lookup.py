"""Finding what a command acts on: the environment of an app, its latest deployment, its Rollout.

Commands name an application (`app promote hello`); the API acts on deployments and on an
environment's Rollout, so these bridge the two with the API's own listings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound, RollwayError
from ..validation import dns_label
from .session import Session

if TYPE_CHECKING:
    from .api import Api

Json = dict[str, Any]


def app_name(name: str) -> str:
    """Checked before any request, so a typo is a usage error (exit 2), not a 404."""
    return dns_label("NAME", name)


def environment(api: Api, session: Session, app: str) -> str:
    """--env (or the context's); else the environment deploying to -n; else the only one."""
    if session.env:
        return session.env
    found = api.get(f"/apps/{app}")
    if session.namespace:
        return in_namespace(found, session.namespace)
    return only_environment(found)


def in_namespace(app: Json, namespace: str) -> str:
    for env in app.get("environments") or []:
        if env.get("namespace") == namespace:
            return str(env["name"])
    raise NotFound(
        f"no environment of '{app.get('name')}' deploys to namespace '{namespace}'",
        hint="see them with: app list (or pass --env)",
    )


def only_environment(app: Json) -> str:
    names = [e["name"] for e in app.get("environments") or []]
    if len(names) == 1:
        return str(names[0])
    raise InvalidInput(
        f"'{app.get('name')}' has environments {', '.join(names)}: say which",
        field="--env",
        hint=f"app {_command()} {app.get('name')} --env {names[0]}" if names else None,
    )


def latest(api: Api, app: str, env: str) -> Json:
    """The newest deployment of app/env (a summary)."""
    page = api.get("/deployments", app=app, env=env, limit=1)
    items = page.get("items") or []
    if not items:
        raise NotFound(
            f"'{app}' has no deployments in '{env}'",
            hint=f"deploy it first: app deploy {app} --env {env} --artifact GROUP:ARTIFACT:VERSION",
        )
    return dict(items[0])


def deployment(api: Api, deployment_id: str) -> Json:
    return dict(api.get(f"/deployments/{deployment_id}"))


def rollout(api: Api, app: str, env: str) -> tuple[Json | None, str | None]:
    """The Rollout's view, or why there is none: it does not exist yet (None, None), or the
    cluster could not be read (None, reason) — the rest of a status is still worth showing."""
    try:
        return dict(api.get(f"/apps/{app}/environments/{env}/rollout")), None
    except NotFound:
        return None, None
    except RollwayError as err:
        if err.exit_code in (2, 3):  # our own mistake or a refusal: not a passing problem
            raise
        return None, str(err)


def status(api: Api, app: str, env: str) -> tuple[Json, Json | None, str | None]:
    """The latest deployment (in full) and the Rollout's view, read at the same time: a
    status needs both, and the Rollout is the slow one (the server asks Kubernetes). A bare
    thread, not an executor: `concurrent.futures` (and the logging it loads) was a tenth of
    `app status`'s imports."""
    import threading

    read: list[tuple[Json | None, str | None]] = []
    failed: list[BaseException] = []

    def read_rollout() -> None:
        try:
            read.append(rollout(api, app, env))
        except BaseException as err:  # raised in the command's thread below
            failed.append(err)

    reader = threading.Thread(target=read_rollout, daemon=True)
    reader.start()
    found = deployment(api, latest(api, app, env)["id"])
    reader.join()
    if failed:
        raise failed[0]
    return (found, *read[0])


def _command() -> str:
    import click

    ctx = click.get_current_context(silent=True)
    return ctx.info_name if ctx and ctx.info_name else "status"
