"""A deployment is submitted exactly once, even when two submissions of it race (the request
and the reconciler, or two replicas): the one the engine refuses adopts the other's workflow
rather than failing the deployment. On a real SQLite database and the embedded engine, with a
`rollway-deploy` that only waits at a gate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from rollway.apiserver.db import Database
from rollway.apiserver.models import Deployment, utcnow
from rollway.apiserver.services import submission
from rollway.apiserver.services.pipeline import labels
from rollway.apiserver.services.reconciler import Reconciler
from rollway.apiserver.services.submission import find_workflow
from rollway.pipeline import DEPLOY_TEMPLATE
from rollway.workflows.backends.embedded import EmbeddedBackend
from tests.support.apiserver import ALICE, register, sqlite_database
from tests.unit.apiserver.deploy_parameters import app, params

GATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "WorkflowTemplate",
    "metadata": {"name": DEPLOY_TEMPLATE},
    "spec": {"entrypoint": "main",
             "templates": [{"name": "main", "dag": {"tasks": [{"name": "gate", "template": "gate"}]}},
                           {"name": "gate", "suspend": {}}]},
}  # fmt: skip


def parameters(deployment_id: str) -> dict[str, str]:
    """Valid `rollway-deploy` arguments (the engine checks them against the contract)."""
    return {**params(app()), "deployment-id": deployment_id}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with sqlite_database(tmp_path, "hello") as database:
        register(database, ALICE)
        yield database


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[EmbeddedBackend]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / f"{DEPLOY_TEMPLATE}.yaml").write_text(yaml.safe_dump(GATE))
    engine = EmbeddedBackend(tmp_path / "engine", templates_dir=templates)
    yield engine
    for workflow in engine.list({}):
        engine.terminate(workflow.name)


def pending(db: Database, deployment_id: str, env: str = "dev", age: float = 0) -> None:
    with db.write() as session:
        session.add(Deployment(
            id=deployment_id, app="hello", env=env, namespace=f"hello-{env}", kind="deploy",
            state="pending", version="1.0.0", strategy="bluegreen", request={},
            parameters=parameters(deployment_id),
            request_hash="-", created_by=ALICE.subject, created_by_name=ALICE.name,
            created_at=utcnow() - timedelta(seconds=age), steps=[], provenance={},
        ))  # fmt: skip


def state(db: Database, deployment_id: str) -> tuple[str, str | None, str]:
    with db.read() as session:
        record = submission.load(session, deployment_id)
        return record.state, record.workflow, record.message


def test_a_submission_the_engine_refuses_as_already_started_adopts_that_workflow(
    db: Database, backend: EmbeddedBackend
) -> None:
    pending(db, "hello-dev-aaaaaaaa")
    # The other submission got there first.
    backend.submit(DEPLOY_TEMPLATE, parameters("hello-dev-aaaaaaaa"),
                   labels=labels("hello-dev-aaaaaaaa", "hello", "dev"),
                   name="hello-dev-aaaaaaaa")  # fmt: skip

    submission.submit(db, backend, "hello-dev-aaaaaaaa", deadline=600)

    assert state(db, "hello-dev-aaaaaaaa") == ("running", "hello-dev-aaaaaaaa", "")
    assert len(backend.list({})) == 1


def test_a_name_held_by_another_deployments_workflow_still_fails_with_the_engines_reason(
    db: Database, backend: EmbeddedBackend
) -> None:
    pending(db, "hello-dev-bbbbbbbb")
    backend.submit(DEPLOY_TEMPLATE, parameters("hello-dev-other"),
                   labels=labels("hello-dev-other", "hello", "dev"),
                   name="hello-dev-bbbbbbbb")  # fmt: skip

    submission.submit(db, backend, "hello-dev-bbbbbbbb", deadline=600)

    found, workflow, message = state(db, "hello-dev-bbbbbbbb")
    assert (found, workflow) == ("failed", None)
    assert (
        message
        == "the engine refused the workflow: name: workflow 'hello-dev-bbbbbbbb' already exists"
    )


def test_the_reconciler_leaves_a_record_this_process_is_submitting_to_its_request(
    db: Database, backend: EmbeddedBackend
) -> None:
    pending(db, "hello-dev-cccccccc", age=5)  # left by the process before this one
    reconciler = Reconciler(db, backend, interval=60, submit_grace=30, submit_deadline=600)
    pending(db, "hello-prod-dddddddd", env="prod")  # its request is submitting it now

    reconciler.reconcile()

    assert state(db, "hello-dev-cccccccc")[:2] == ("running", "hello-dev-cccccccc")
    assert state(db, "hello-prod-dddddddd")[:2] == ("pending", None)
    assert find_workflow(backend, "hello-prod-dddddddd") is None
