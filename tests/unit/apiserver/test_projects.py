"""Projects on a real SQLite database: roles from member groups, READ scoped to projects,
guardrails, who may change a project or an environment's policy, and the bootstrap setting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from rollway.apiserver.db import Database
from rollway.apiserver.models import AuditEvent, ProjectNamespace
from rollway.apiserver.schemas.apps import AppSpec
from rollway.apiserver.schemas.projects import ProjectSpec
from rollway.apiserver.services import access, apps, projects
from rollway.apiserver.settings import Settings
from rollway.auth import Capability, Role
from rollway.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.support.apiserver import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    ERIN,
    FRANK,
    NORA,
    REGISTRY,
    app,
    project,
    register,
    sqlite_database,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with sqlite_database(tmp_path, "hello", "payments") as database:
        yield database


def test_roles_come_from_the_projects_member_groups(db: Database) -> None:
    with db.read() as session:
        assert access.roles(session, ALICE, "hello") == {Role.VIEWER, Role.DEPLOYER}
        assert access.roles(session, FRANK, "hello") == {Role.PROJECT_ADMIN}
        assert access.roles(session, ALICE, "payments") == frozenset()
        assert access.roles(session, ADMIN, "payments") == set(Role)


def test_without_a_role_in_its_project_an_app_is_not_found(db: Database) -> None:
    register(db, ALICE)

    with db.read() as session:
        assert access.app_for(session, CAROL, "hello").project == "hello"
        for stranger in (ERIN, NORA):
            with pytest.raises(NotFound, match="application 'hello' not found"):
                access.app_for(session, stranger, "hello")
            with pytest.raises(NotFound, match="project 'hello' not found"):
                access.project_for(session, stranger, "hello")
        with pytest.raises(Forbidden, match="the deployer role in project hello is needed"):
            access.app_for(session, BOB, "hello", Capability.DEPLOY)
        assert [a.name for a in apps.listing(session, ERIN)] == []
        assert [a.name for a in apps.listing(session, CAROL)] == ["hello"]
        assert [p.name for p in projects.listing(session, FRANK)] == ["hello"]


def test_an_app_goes_to_the_only_project_its_deployer_deploys_in(db: Database) -> None:
    created, _ = register(db, ALICE)

    assert created.project == "hello"
    with pytest.raises(InvalidInput, match="you deploy in no project"):
        register(db, BOB, name="other")
    with pytest.raises(NotFound, match="project 'payments' not found"):
        register(db, ALICE, name="other", project="payments")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"environments": [{"name": "dev", "namespace": "payments-dev"}]},
         "body.environments[0].namespace", "namespace payments-dev belongs to project payments"),
        ({"environments": [{"name": "dev", "namespace": "kube-system"}]},
         "body.environments[0].namespace", "namespace kube-system is not among project hello's"),
        ({"chart": {"repo": "http://git.test/other/app.git"}}, "body.chart.repo",
         "chart repository http://git.test/other/app.git is not among"),
        ({"chart": {"repo": "http://git.test/charts/../other/app.git"}}, "body.chart.repo",
         "chart repository http://git.test/charts/../other/app.git is not among"),
        ({"chart": {"repo": "http://git.test@evil.test/charts/app.git"}}, "body.chart.repo",
         "chart repository http://git.test@evil.test/charts/app.git is not among"),
        ({"artifact": "com.examplex:hello"}, "body.artifact", "Maven groupId com.examplex"),
        ({"imageRepository": f"{REGISTRY}/payments/hello"}, "body.imageRepository",
         f"image repository {REGISTRY}/payments/hello is not under"),
        ({"notifications": [{"url": "http://hooks.test:9090/x"}]}, "body.notifications[0].url",
         "notification host hooks.test:9090"),
        ({"notifications": [{"url": "http://hooks.test:8080@evil.test/x"}]},
         "body.notifications[0].url", "notification host hooks.test:8080@evil.test"),
        ({"notifications": [{"url": "http://hooks.test:99999/x"}]}, "body.notifications[0].url",
         "notification host hooks.test:99999"),
    ],
)  # fmt: skip
def test_registrations_outside_the_guardrails_are_refused_naming_them(
    db: Database, fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(Forbidden, match=message) as refused:
        register(db, ALICE, **fields)

    assert refused.value.field == field
    with db.read() as session:
        assert apps.listing(session, ADMIN) == []


def test_inside_the_guardrails_sub_groups_paths_and_hosts_are_allowed(db: Database) -> None:
    created, _ = register(db, ALICE, imageRepository=f"{REGISTRY}/hello/web",
                          notifications=[{"url": "http://hooks.test:8080/x"}])  # fmt: skip

    assert created.artifact == "com.example.shop:hello"


def test_a_namespace_belongs_to_one_project_in_the_database_too(db: Database) -> None:
    with pytest.raises(Conflict, match="namespace hello-dev belongs to project hello"):
        projects.create(db, REGISTRY, ADMIN, project("shop", namespaces=["hello-dev"]))
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(ProjectNamespace(namespace="hello-dev", project="payments"))


def test_project_admins_narrow_guardrails_and_only_admins_widen_them(db: Database) -> None:
    spec = ProjectSpec.model_validate(project("hello").model_dump(exclude={"name"}))
    narrower = spec.model_copy(deep=True)
    narrower.guardrails.namespaces = ["hello-dev"]
    wider = spec.model_copy(deep=True)
    wider.guardrails.namespaces = ["hello-dev", "kube-system"]

    projects.update(db, REGISTRY, FRANK, "hello", narrower)
    with pytest.raises(Forbidden, match=r"widen .*namespaces: hello-prod") as refused:
        projects.update(db, REGISTRY, FRANK, "hello", spec)
    assert refused.value.field == "body.guardrails.namespaces"
    with pytest.raises(Forbidden, match="role in project hello is needed"):
        projects.update(db, REGISTRY, ALICE, "hello", narrower)
    projects.update(db, REGISTRY, ADMIN, "hello", wider)
    with pytest.raises(Forbidden, match="only platform admins may delete projects"):
        projects.delete(db, FRANK, "hello")


def test_image_guardrails_stay_under_the_platform_registry(db: Database) -> None:
    with pytest.raises(InvalidInput, match="not under the platform registry") as refused:
        projects.create(db, REGISTRY, ADMIN, project("shop", imageRepositories=["evil.test/x"]))

    assert refused.value.field == "body.guardrails.imageRepositories[0]"


def test_environment_policy_is_the_project_admins_and_audited(db: Database) -> None:
    register(db, ALICE)
    strict = app(environments=[{"name": "dev"},
                               {"name": "prod", "policy": {"approvalRequired": True}}])  # fmt: skip
    spec = AppSpec.model_validate({k: v for k, v in strict.items() if k != "name"})

    with pytest.raises(Forbidden, match="policy of environment prod is changed only by") as no:
        apps.update(db, ALICE, "hello", spec)
    assert no.value.field == "body.environments"
    _, detail = apps.update(db, FRANK, "hello", spec)
    change = json.loads(detail)["policy"]["prod"]
    assert (change["before"]["approvalRequired"], change["after"]["approvalRequired"]) == (
        False, True)  # fmt: skip
    loose = AppSpec.model_validate({**spec.model_dump(by_alias=True), "environments": [
        {"name": "dev"}]})  # fmt: skip
    with pytest.raises(Forbidden, match="policy of environment prod"):
        apps.update(db, ALICE, "hello", loose)  # dropping prod would drop its approval


def test_bootstrap_creates_and_completes_projects_and_never_removes(db: Database) -> None:
    seed = project("shop").model_dump(mode="json", by_alias=True)
    settings = Settings(oidc_issuer="http://kc.test/realms/rollway", registry=REGISTRY,
                        bootstrap_projects=[seed, project("other", namespaces=["hello-dev"])
                                            .model_dump(mode="json", by_alias=True)])  # fmt: skip
    projects.bootstrap(db, settings)
    narrowed = ProjectSpec.model_validate({k: v for k, v in seed.items() if k != "name"})
    narrowed.guardrails.namespaces = ["shop-dev"]
    narrowed.guardrails.notification_hosts = ["added.test"]
    projects.update(db, REGISTRY, ADMIN, "shop", narrowed)
    projects.bootstrap(db, settings)

    with db.read() as session:
        shop = access.project_for(session, ADMIN, "shop")
        assert shop.namespace_names == ["shop-dev", "shop-prod"]
        assert shop.notification_hosts == ["added.test", "hooks.test:8080"]
        assert access.project_for(session, ADMIN, "hello").namespace_names == [
            "hello-dev", "hello-prod"]  # fmt: skip
        with pytest.raises(NotFound):
            access.project_for(session, ADMIN, "other")  # its namespace is hello's: skipped
        events = session.scalars(select(AuditEvent.target).where(AuditEvent.actor == "bootstrap"))
        assert list(events) == ["project/shop", "project/shop"]
