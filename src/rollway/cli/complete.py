"""Shell completion of NAME and DEPLOYMENT_ID arguments, from the API server.

Completion must never print an error into the user's command line: any failure (not logged
in, server down) completes nothing.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem

from .session import Session


def app_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    items = _items(ctx, "/apps")
    return [CompletionItem(a["name"]) for a in items if a["name"].startswith(incomplete)]


def waiting_deployments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    items = _items(ctx, "/deployments", state="waiting", limit=50)
    return [CompletionItem(d["id"], help=f"{d['app']}/{d['env']} {d['version']}")
            for d in items if d["id"].startswith(incomplete)]  # fmt: skip


def _items(ctx: click.Context, path: str, **params: Any) -> list[dict[str, Any]]:
    try:
        api = Session.current(ctx).api()
        return list(api.get(path, **params).get("items") or [])
    except Exception:  # whatever it is, the shell gets no candidates rather than a traceback
        return []
