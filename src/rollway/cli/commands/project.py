"""`app project`: projects, their member groups and guardrails: list, show, create, set, delete.

Members are `ROLE=GROUP` (a Keycloak group holding a role in the project); guardrails are
`KIND=VALUE` allow-list entries. `set` reads the project, changes what its flags say and writes
it back whole, so what it did not name stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ...errors import InvalidInput
from ...validation import dns_label
from ..output import emit, output_option, table
from ..session import Session, target_options

#: ROLE in `--member ROLE=GROUP` → the API's `members` key.
ROLES = {
    "viewer": "viewer",
    "deployer": "deployer",
    "approver": "approver",
    "project-admin": "projectAdmin",
}
#: KIND in `--allow KIND=VALUE` → the API's `guardrails` key.
KINDS = {
    "namespace": "namespaces",
    "image-repository": "imageRepositories",
    "chart-repository": "chartRepositories",
    "maven-group": "mavenGroups",
    "notification-host": "notificationHosts",
}
#: API fields → the flags that set them, to name them in errors.
FLAGS = {
    "body.name": "NAME",
    "body.description": "--description",
    **{f"body.members.{key}": f"--member {role}=…" for role, key in ROLES.items()},
    **{f"body.guardrails.{key}": f"--allow {kind}=…" for kind, key in KINDS.items()},
}


Pairs = list[tuple[str, str]]


def pairs(known: dict[str, str]) -> Callable[[click.Context, click.Parameter, Any], Pairs]:
    """A click callback: `NAME=VALUE` items with NAME among `known`, as (key, value) pairs."""

    def parse(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> Pairs:
        parsed = []
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not value or name not in known:
                raise click.BadParameter(
                    f"'{item}' must be NAME=VALUE with NAME one of {', '.join(known)}", ctx, param
                )
            parsed.append((known[name], value))
        return parsed

    return parse


def _name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        dns_label("NAME", value)
    except InvalidInput as err:
        raise click.BadParameter(err.message, ctx, param) from None
    return value


MEMBER_HELP = f"ROLE=GROUP, ROLE one of {', '.join(ROLES)}; repeatable."
ALLOW_HELP = f"KIND=VALUE, KIND one of {', '.join(KINDS)}; repeatable."


@click.group()
def project() -> None:
    """List, show and change projects.

    A project names the Keycloak groups holding each role in it (viewer, deployer, approver,
    project-admin) and its guardrails: the namespaces, image repositories, chart repositories,
    Maven groups and notification hosts its applications may use. Platform admins create and
    delete projects and widen guardrails; project admins change members and narrow guardrails.
    """


@project.command("list")
@output_option
@target_options
def list_projects(output: str) -> None:
    """List the projects you hold a role in (all of them for platform admins)."""
    items = Session.current().api().get("/projects").get("items") or []
    if output != "table":
        emit(items, output)
        return
    table(
        ["name", "your roles", "deployers", "approvers", "namespaces", "description"],
        [(p["name"], ", ".join(p["yourRoles"]) or "-", ", ".join(p["members"]["deployer"]) or "-",
          ", ".join(p["members"]["approver"]) or "-",
          ", ".join(p["guardrails"]["namespaces"]) or "-", p["description"])
         for p in items],
    )  # fmt: skip


@project.command("show")
@click.argument("name", callback=_name)
@output_option
@target_options
def show(name: str, output: str) -> None:
    """Show a project's members and guardrails."""
    found = Session.current().api(FLAGS).get(f"/projects/{name}")
    if output != "table":
        emit(found, output)
        return
    click.echo(f"Name:         {found['name']}")
    click.echo(f"Description:  {found['description'] or '-'}")
    click.echo(f"Your roles:   {', '.join(found['yourRoles']) or '-'}")
    click.echo("Members:")
    for role, key in ROLES.items():
        click.echo(f"  {role + ':':<22}{', '.join(found['members'][key]) or '-'}")
    click.echo("Guardrails:")
    for kind, key in KINDS.items():
        click.echo(f"  {kind + ':':<22}{', '.join(found['guardrails'][key]) or '-'}")


@project.command("create")
@click.argument("name", callback=_name)
@click.option("--description", default="", help="What the project is for.")
@click.option("--member", "members", multiple=True, metavar="ROLE=GROUP", help=MEMBER_HELP,
              callback=pairs(ROLES))  # fmt: skip
@click.option("--allow", "allowed", multiple=True, metavar="KIND=VALUE", help=ALLOW_HELP,
              callback=pairs(KINDS))  # fmt: skip
@output_option
@target_options
def create(
    name: str,
    description: str,
    members: Pairs,
    allowed: Pairs,
    output: str,
) -> None:
    """Create a project (platform admins).

    \b
    app project create shop --member deployer=shop-deployers --member viewer=team-shop \\
        --allow namespace=shop-dev --allow maven-group=com.example.shop \\
        --allow chart-repository=http://git.example/shop/
    """  # fmt: skip
    spec = {"name": name, "description": description, "members": _grouped(members, ROLES),
            "guardrails": _grouped(allowed, KINDS)}  # fmt: skip
    created = Session.current().api(FLAGS).post("/projects", spec).json()
    _done(created, output, f"project {name} created")


@project.command("set")
@click.argument("name", callback=_name)
@click.option("--description", help="What the project is for.")
@click.option("--add-member", multiple=True, metavar="ROLE=GROUP", help=MEMBER_HELP,
              callback=pairs(ROLES))  # fmt: skip
@click.option("--remove-member", multiple=True, metavar="ROLE=GROUP", help=MEMBER_HELP,
              callback=pairs(ROLES))  # fmt: skip
@click.option("--allow", "allowed", multiple=True, metavar="KIND=VALUE", help=ALLOW_HELP,
              callback=pairs(KINDS))  # fmt: skip
@click.option("--disallow", multiple=True, metavar="KIND=VALUE", help=ALLOW_HELP,
              callback=pairs(KINDS))  # fmt: skip
@output_option
@target_options
def set_project(
    name: str,
    description: str | None,
    add_member: Pairs,
    remove_member: Pairs,
    allowed: Pairs,
    disallow: Pairs,
    output: str,
) -> None:
    """Change a project's members or guardrails (project admins; widening: platform admins).

    \b
    app project set hello --add-member approver=hello-approvers --disallow namespace=hello-old
    """  # fmt: skip
    if not (description is not None or add_member or remove_member or allowed or disallow):
        raise InvalidInput("nothing to change: give --description, --add-member, "
                           "--remove-member, --allow or --disallow", field="set")  # fmt: skip
    api = Session.current().api(FLAGS)
    current = api.get(f"/projects/{name}")
    members = _changed(current["members"], add_member, remove_member)
    guardrails = _changed(current["guardrails"], allowed, disallow)
    spec = {"description": current["description"] if description is None else description,
            "members": members, "guardrails": guardrails}  # fmt: skip
    _done(api.put(f"/projects/{name}", spec), output, f"project {name} updated")


@project.command("delete")
@click.argument("name", callback=_name)
@target_options
def delete(name: str) -> None:
    """Delete a project without applications (platform admins)."""
    Session.current().api(FLAGS).call("DELETE", f"/projects/{name}")
    click.echo(f"project {name} deleted")


def _grouped(items: Pairs, keys: dict[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {key: [] for key in keys.values()}
    for key, value in items:
        grouped[key].append(value)
    return grouped


def _changed(current: dict[str, list[str]], add: Pairs, remove: Pairs) -> dict[str, list[str]]:
    lists = {key: set(values) for key, values in current.items()}
    for key, value in add:
        lists[key].add(value)
    for key, value in remove:
        lists[key].discard(value)
    return {key: sorted(values) for key, values in lists.items()}


def _done(answer: dict[str, Any], output: str, message: str) -> None:
    if output != "table":
        emit(answer, output)
    else:
        click.echo(message)
