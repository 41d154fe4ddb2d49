"""`app context`: the servers you work with, kubeconfig-style: list, use, set, delete."""

from __future__ import annotations

import click

from ...errors import InvalidInput
from ...validation import dns_label
from ..claims import claims, holder
from ..config import CONTEXT_KEYS, Config
from ..output import emit, output_option, table


@click.group()
def context() -> None:
    """List, switch and edit contexts.

    A context is an API server URL, the Keycloak URL, realm and client it trusts, and default
    namespace and environment; its tokens are kept with it.
    """


@context.command("list")
@output_option
def list_contexts(output: str) -> None:
    """List contexts; * marks the current one. Tokens are never shown."""
    config = Config.load()
    rows = []
    for name, ctx in sorted(config.contexts.items()):
        entry = {key: getattr(ctx, attr) for key, attr in CONTEXT_KEYS.items()}
        user = holder(claims(ctx.credentials.access_token)) if ctx.credentials else None
        rows.append({"name": name, "current": name == config.current, **entry, "user": user})
    if output != "table":
        emit(rows, output)
        return
    table(
        ["current", "name", "server", "keycloak-url", "realm", "namespace", "env", "user"],
        [("*" if r["current"] else "", r["name"], r["server"], r["keycloak-url"], r["realm"],
          r["namespace"], r["env"], r["user"] or "-") for r in rows],
    )  # fmt: skip


@context.command("use")
@click.argument("name")
def use(name: str) -> None:
    """Make NAME the current context."""
    config = Config.load()
    config.context(name)  # an unknown name is an error naming the known ones
    config.current = name
    config.save()
    click.echo(f"Switched to context {name}.")


@context.command("set")
@click.argument("name")
@click.option("--server", metavar="URL", help="API server URL.")
@click.option("--keycloak-url", metavar="URL", help="Keycloak base URL.")
@click.option("--realm", metavar="REALM", help="Keycloak realm.")
@click.option("--client-id", metavar="ID", help="Keycloak client of the CLI (public client).")
@click.option("-n", "--namespace", metavar="NS", help="Default namespace ('' clears it).")
@click.option("--env", metavar="ENV", help="Default environment ('' clears it).")
@click.option("--use", "make_current", is_flag=True, help="Also make it the current context.")
def set_context(name: str, make_current: bool, **settings: str | None) -> None:
    """Create or change context NAME (new contexts start from ROLLWAY_* variables)."""
    dns_label("NAME", name)
    for flag in ("namespace", "env"):
        if settings[flag]:
            dns_label(f"--{flag}", str(settings[flag]))
    for flag in ("server", "keycloak_url"):
        url = settings[flag]
        if url is not None and not url.startswith(("http://", "https://")):
            raise InvalidInput("must be an http:// or https:// URL",
                               field=f"--{flag.replace('_', '-')}")  # fmt: skip
    config = Config.load()
    existed = name in config.contexts
    ctx = config.context(name, create=True)
    for attr, value in settings.items():
        if value is not None:
            # '' clears an optional default; URLs are kept without a trailing slash.
            setattr(ctx, attr, value.rstrip("/") or None)
    if make_current:
        config.current = name
    config.store(ctx)
    click.echo(f"Context {name} {'updated' if existed else 'created'}.")


@context.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Delete context NAME and its tokens."""
    config = Config.load()
    config.context(name)
    del config.contexts[name]
    if config.current == name:
        config.current = None
    config.save()
    click.echo(f"Context {name} deleted.")
