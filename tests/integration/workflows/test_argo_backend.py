"""The Argo Server backend against the real Argo Server and workflow-controller on devstack.

Pods on KWOK nodes never run containers, so pipelines with container steps never finish here;
what is real and checked: submission from the WorkflowTemplate (Argo validates the parameters),
get, list by label, the watch stream, resume of a suspend node, stop and terminate.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import yaml

from rollway.errors import InvalidInput, NotFound
from rollway.workflows.backends import Cancel
from rollway.workflows.backends.argo import ArgoBackend
from rollway.workflows.render import rendered
from rollway.workflows.templates import EXECUTOR_SERVICE_ACCOUNT, SERVICE_ACCOUNT
from tests.support.helpers import kubectl, wait_for

pytestmark = pytest.mark.integration

GATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "WorkflowTemplate",
    "metadata": {"name": "rollway-test-gate"},
    "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "app", "value": "x"}]},
        "templates": [
            {"name": "main", "dag": {"tasks": [{"name": "approval", "template": "approval"}]}},
            {"name": "approval", "suspend": {}},
        ],
    },
}


@pytest.fixture(scope="module")
def namespace(devstack_env: dict[str, str]) -> Iterator[str]:
    name = f"argo-{uuid.uuid4().hex[:6]}"
    kubectl(devstack_env, "create", "namespace", name)
    for account in (SERVICE_ACCOUNT, EXECUTOR_SERVICE_ACCOUNT):  # the controller looks both up
        kubectl(devstack_env, "-n", name, "create", "serviceaccount", account)
    docs = [*rendered().values(), yaml.safe_dump(GATE)]
    kubectl(devstack_env, "-n", name, "apply", "-f", "-", stdin="\n---\n".join(docs))
    yield name
    kubectl(devstack_env, "delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def backend(devstack_env: dict[str, str], namespace: str) -> ArgoBackend:
    return ArgoBackend(devstack_env["ROLLWAY_ARGO_SERVER_URL"], namespace=namespace)


def deploy_params(devstack_env: dict[str, str], deployment_id: str) -> dict[str, str]:
    return {
        "deployment-id": deployment_id,
        "app": "hello",
        "env": "dev",
        "namespace": "hello-dev",
        "coordinates": "com.example:hello:1.0.0",
        "image-repository": f"{devstack_env['ROLLWAY_REGISTRY']}/apps/hello",
        "base-image": devstack_env["ROLLWAY_BASE_IMAGE"],
        "chart-repo": devstack_env["ROLLWAY_CHART_REPO"],
    }


def test_submit_get_list_watch_and_terminate(
    backend: ArgoBackend, devstack_env: dict[str, str]
) -> None:
    deployment = uuid.uuid4().hex[:10]
    name = f"deploy-{deployment}"
    labels = {"rollway.io/deployment-id": deployment}
    submitted = backend.submit(
        "rollway-deploy", deploy_params(devstack_env, deployment), labels=labels, name=name
    )
    assert submitted.name == name
    assert submitted.parameters["coordinates"] == "com.example:hello:1.0.0"
    assert submitted.parameters["app"] == "hello"
    running = wait_for(
        "controller to start the DAG", lambda: (wf := backend.get(name)).nodes and wf, timeout=120
    )
    assert running.phase == "Running"
    assert {n.name for n in running.nodes} >= {"resolve-artifact", "fetch-chart"}
    assert running.labels["rollway.io/app"] == "hello"  # from the template's labelsFrom
    listed = wait_for("list by label", lambda: backend.list(labels), timeout=60)
    assert [wf.name for wf in listed] == [name]
    first = next(backend.watch(name, timeout=10))
    assert first.name == name
    backend.terminate(name)
    done = wait_for("terminated", lambda: (wf := backend.get(name)).finished and wf, timeout=120)
    assert done.phase == "Failed" and "Terminate" in done.message


def test_resume_a_suspended_gate(backend: ArgoBackend) -> None:
    name = f"gate-{uuid.uuid4().hex[:8]}"
    backend.submit("rollway-test-gate", {}, labels={}, name=name)
    gated = wait_for("suspended", lambda: backend.get(name).suspended, timeout=120)
    assert gated.name == "approval"
    watched = backend.watch(name, timeout=120)
    backend.resume(name, "displayName=approval")
    final = [wf for wf in watched][-1]
    assert final.phase == "Succeeded"


def test_stop_ends_a_suspended_workflow(backend: ArgoBackend) -> None:
    name = f"gate-{uuid.uuid4().hex[:8]}"
    backend.submit("rollway-test-gate", {}, labels={}, name=name)
    wait_for("suspended", lambda: backend.get(name).suspended, timeout=120)
    backend.stop(name)
    done = wait_for("stopped", lambda: (wf := backend.get(name)).finished and wf, timeout=120)
    assert done.phase == "Failed"


def test_a_cancelled_watch_or_follow_ends_at_once(backend: ArgoBackend) -> None:
    """A reader that went away cancels: the threads blocked on Argo's streams of a workflow
    that does not change (suspended) end, rather than at the workflow's end."""
    name = f"gate-{uuid.uuid4().hex[:8]}"
    backend.submit("rollway-test-gate", {}, labels={}, name=name)
    wait_for("suspended", lambda: backend.get(name).suspended, timeout=120)
    cancel, seen = Cancel(), []
    readers = [
        threading.Thread(target=lambda: seen.extend(backend.watch(name, None, cancel))),
        threading.Thread(
            target=lambda: seen.extend(backend.logs(name, follow=True, cancel=cancel))
        ),
    ]
    for reader in readers:
        reader.start()
    wait_for("the watch's first answer", lambda: seen, timeout=60)
    for reader in readers:
        reader.join(timeout=2)
        assert reader.is_alive(), "a stream of an unchanging workflow ended by itself"

    cancel.cancel()

    for reader in readers:
        reader.join(timeout=60)  # a guard against waiting forever, not a measurement
        assert not reader.is_alive()
    assert not backend.get(name).finished
    backend.stop(name)


def test_bad_input_is_refused(backend: ArgoBackend, devstack_env: dict[str, str]) -> None:
    params = deploy_params(devstack_env, "bad1")
    with pytest.raises(InvalidInput) as err:
        backend.submit(
            "rollway-deploy", {**params, "app": "{{workflow.name}}"}, labels={}, name="x1"
        )
    assert err.value.field == "app"
    with pytest.raises(InvalidInput):  # the template's enum, checked before submission
        backend.submit("rollway-deploy", {**params, "strategy": "yolo"}, labels={}, name="x2")
    with pytest.raises((NotFound, InvalidInput)):
        backend.submit("rollway-nope", params, labels={}, name="x3")
    with pytest.raises(NotFound):
        backend.get("does-not-exist")
