"""The API server's services on a real SQLite database, and who acts on them: a platform admin and
people whose groups give them roles in projects named after their teams (`team-hello` views
hello, `hello-deployers` deploy in it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rollway.apiserver import migrate
from rollway.apiserver.db import Database
from rollway.apiserver.schemas.apps import AppCreate
from rollway.apiserver.schemas.projects import ProjectCreate
from rollway.apiserver.services import apps, projects
from rollway.auth import Principal

#: The platform registry; each project's images go under `<REGISTRY>/<project>`.
REGISTRY = "registry.test:5000"
ADMIN = Principal(subject="d", name="dave", is_admin=True, groups=frozenset())


def person(name: str, *groups: str) -> Principal:
    return Principal(subject=name, name=name, is_admin=False, groups=frozenset(groups))


ALICE = person("alice", "team-hello", "hello-deployers")
BOB = person("bob", "team-hello", "hello-approvers")
CAROL = person("carol", "team-hello")
FRANK = person("frank", "hello-admins")
ERIN = person("erin", "team-payments", "payments-deployers")
NORA = person("nora")


def project(name: str, **guardrails: Any) -> ProjectCreate:
    return ProjectCreate.model_validate({
        "name": name,
        "members": {"viewer": [f"team-{name}"], "deployer": [f"{name}-deployers"],
                    "approver": [f"{name}-approvers"], "projectAdmin": [f"{name}-admins"]},
        "guardrails": {"namespaces": [f"{name}-dev", f"{name}-prod"],
                       "chartRepositories": ["http://git.test/charts/"],
                       "mavenGroups": ["com.example"], "notificationHosts": ["hooks.test:8080"],
                       "imageRepositories": [f"{REGISTRY}/{name}"], **guardrails},
    })  # fmt: skip


def app(name: str = "hello", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "environments": [{"name": "dev"}, {"name": "prod"}],
        "chart": {"repo": "http://git.test/charts/app.git"},
        "artifact": "com.example.shop:hello",
        **fields,
    }


def register(db: Database, who: Principal, **fields: Any) -> Any:
    spec = AppCreate.model_validate(app(**fields))
    return apps.register(db, who, spec.name, spec)


@contextmanager
def sqlite_database(tmp_path: Path, *project_names: str) -> Iterator[Database]:
    """A migrated database in `tmp_path` with these projects (as `project` makes them), disposed
    of afterwards."""
    database = Database(f"sqlite:///{tmp_path / 'rollway.db'}")
    migrate.upgrade(database.writer)
    for name in project_names:
        projects.create(database, REGISTRY, ADMIN, project(name))
    yield database
    database.dispose()
