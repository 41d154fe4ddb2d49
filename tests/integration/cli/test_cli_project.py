"""`app project` against a real API server with the realm's users: a platform admin creates,
changes and deletes a project; a project admin narrows but may not widen it; a user with no
role in it does not find it; every refusal is one line naming the flag."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import ApiServer, Cli, environ_without_rollway, one_error_line

pytestmark = pytest.mark.integration


@pytest.fixture
def as_user(
    apiserver: ApiServer, devstack_env: dict[str, str], tmp_path: Path
) -> Callable[[str], Cli]:
    """`app` logged in as a realm user, a config file each."""

    def login(user: str) -> Cli:
        config = tmp_path / user / "config.yaml"
        env = {**environ_without_rollway(devstack_env), "ROLLWAY_CONFIG": str(config),
               "ROLLWAY_SERVER": apiserver.url, "NO_COLOR": "1"}  # fmt: skip
        cli = Cli(env, config, devstack_env["DEVSTACK_USER_PASSWORD"])
        cli.login(user)
        return cli

    return login


def test_a_project_from_creation_to_deletion(as_user: Callable[[str], Cli]) -> None:
    dave, frank, nora = as_user("dave"), as_user("frank"), as_user("nora")
    name = f"shop-{uuid.uuid4().hex[:6]}"

    created = dave.ok("project", "create", name, "--description", "the shop team",
                      "--member", "viewer=team-shop", "--member", "project-admin=hello-admins",
                      "--allow", f"namespace={name}-dev", "--allow", f"namespace={name}-prod",
                      "--allow", "maven-group=com.example.shop")  # fmt: skip
    assert created.strip() == f"project {name} created"
    shown = frank.json("project", "show", name)
    assert shown["members"]["projectAdmin"] == ["hello-admins"]
    assert (shown["yourRoles"], dave.json("project", "show", name)["yourRoles"]) == (
        ["project-admin"], ["viewer", "deployer", "approver", "project-admin"])  # fmt: skip
    assert shown["guardrails"]["namespaces"] == [f"{name}-dev", f"{name}-prod"]
    assert name in frank.ok("project", "list")

    narrowed = frank.run("project", "set", name, "--add-member", "deployer=shop-deployers",
                         "--disallow", f"namespace={name}-dev")  # fmt: skip
    assert narrowed.returncode == 0, narrowed.stderr
    widened = frank.run("project", "set", name, "--allow", "namespace=kube-system")
    assert widened.returncode == 3
    assert one_error_line(widened.stderr) == (
        "error: --allow namespace=…: only platform admins may widen a project's guardrails "
        "(namespaces: kube-system); project admins may narrow them"
    )
    after = dave.json("project", "show", name)
    assert after["members"]["deployer"] == ["shop-deployers"]
    assert after["guardrails"]["namespaces"] == [f"{name}-prod"]

    hidden = nora.run("project", "show", name)
    assert hidden.returncode == 4
    assert one_error_line(hidden.stderr) == f"error: project '{name}' not found"
    taken = dave.run("project", "set", name, "--allow", "namespace=hello-dev")
    assert taken.returncode == 5
    assert one_error_line(taken.stderr) == (
        "error: --allow namespace=…: namespace hello-dev belongs to project hello"
    )

    assert frank.run("project", "delete", name).returncode == 3
    assert dave.ok("project", "delete", name).strip() == f"project {name} deleted"
    assert dave.run("project", "show", name).returncode == 4


def test_bad_flags_are_one_line_before_any_request(as_user: Callable[[str], Cli]) -> None:
    dave = as_user("dave")

    bad = dave.run("project", "create", "shop", "--member", "owner=team-shop")

    assert bad.returncode == 2
    assert "'owner=team-shop' must be NAME=VALUE with NAME one of viewer" in bad.stderr
    nothing = dave.run("project", "set", "hello")
    assert nothing.returncode == 2
    assert one_error_line(nothing.stderr).startswith("error: set: nothing to change")
