"""One definition, two engines that agree: the parity cases on the embedded engine, and on the
real Argo controller with real pods, compared step by step (phase, outputs, retries by display
name) and by the workflow's phase. A divergence fails.

The embedded side runs anywhere. The Argo side needs the devstack's real node (label and taint
`rollway.io/node=real`) and the Rollway image (ROLLWAY_STEP_IMAGE), and skips without them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from devstack.stack import Context
from rollway.workflows.backends import Backend, WorkflowStatus
from rollway.workflows.backends.argo import ArgoBackend
from rollway.workflows.backends.embedded import EmbeddedBackend
from tests.integration.workflows.parity_cases import CASES, Case, Step
from tests.integration.workflows.real_pods import pod_namespace
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

#: Nodes that group steps; the embedded engine has none, and no one compares them.
GROUPS = frozenset({"DAG", "Steps", "StepGroup", "TaskGroup"})


def view(wf: WorkflowStatus) -> tuple[str, dict[str, Step]]:
    """What must agree: the workflow's phase and each step's phase, outputs and retries."""
    steps = {
        n.name: Step(n.phase, dict(n.outputs), n.retries)
        for n in wf.nodes
        if n.type not in GROUPS and n.name != wf.name
    }
    return wf.phase, steps


def run(backend: Backend, case: Case, timeout: float) -> WorkflowStatus:
    """Submit the case's template, act on it when its step runs, wait until it finishes."""
    name = f"parity-{case.name}-{uuid.uuid4().hex[:5]}"
    backend.submit(f"parity-{case.name}", {}, labels={}, name=name)
    if case.action is not None:
        step, action = case.action

        def running() -> bool:
            node = backend.get(name).node(step)
            return node is not None and node.phase == "Running"

        wait_for(f"{step} of {name} to run", running, timeout=timeout, interval=0.2)
        if action == "resume":
            backend.resume(name, f"displayName={step}")
        elif action == "stop":
            backend.stop(name)
        else:
            backend.terminate(name)
    return wait_for(
        f"{name} to finish",
        lambda: (wf := backend.get(name)).finished and wf,
        timeout=timeout,
        interval=0.3,
    )


def write_templates(folder: Path, pods: dict[str, Any], image: str) -> list[dict[str, Any]]:
    docs = [case.document(f"parity-{case.name}", pods, image) for case in CASES]
    for doc in docs:
        (folder / f"{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc))
    return docs


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    folder = tmp_path_factory.mktemp("parity-templates")
    write_templates(folder, {}, "python:3")  # the image is not used by the embedded engine
    return EmbeddedBackend(tmp_path_factory.mktemp("parity-engine"), templates_dir=folder)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_embedded_engine_ends_where_argo_does(embedded: EmbeddedBackend, case: Case) -> None:
    assert view(run(embedded, case, timeout=90)) == (case.phase, case.steps)


# -- the real controller, real pods -------------------------------------------------------------


@pytest.fixture(scope="module")
def argo(
    devstack: Context, devstack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ArgoBackend, EmbeddedBackend]]:
    """A namespace with the templates placed on the real node; and an embedded engine given the
    same files."""
    image = devstack_env.get("ROLLWAY_STEP_IMAGE")
    if not image:
        pytest.skip("`scripts/devstack env` gives no ROLLWAY_STEP_IMAGE (the Rollway image)")
    api = config.new_client_from_config(config_file=devstack_env["KUBECONFIG"])
    with pod_namespace(api, "parity") as (namespace, pods):
        folder = tmp_path_factory.mktemp("parity-argo-templates")
        custom = client.CustomObjectsApi(api)
        for doc in write_templates(folder, pods, image):
            custom.create_namespaced_custom_object(
                "argoproj.io", "v1alpha1", namespace, "workflowtemplates", doc
            )
        yield (
            ArgoBackend(devstack_env["ROLLWAY_ARGO_SERVER_URL"], namespace=namespace),
            EmbeddedBackend(tmp_path_factory.mktemp("parity-argo-engine"), templates_dir=folder),
        )


ON_ARGO = [
    pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason=c.argo_bug, strict=True)])
    if c.argo_bug
    else pytest.param(c, id=c.name)
    for c in CASES
]


@pytest.mark.real_pods
@pytest.mark.parametrize("case", ON_ARGO)
def test_argo_with_real_pods_and_the_embedded_engine_agree(
    argo: tuple[ArgoBackend, EmbeddedBackend], case: Case
) -> None:
    on_argo, embedded = argo
    real = view(run(on_argo, case, timeout=300))
    local = view(run(embedded, case, timeout=90))
    assert real == local, f"the engines diverge on {case.name}"
    assert real == (case.phase, case.steps)


@pytest.mark.real_pods
def test_argo_step_logs_are_read_from_the_pod_of_every_attempt(
    argo: tuple[ArgoBackend, EmbeddedBackend],
) -> None:
    """Argo 3.7 names pods `<workflow>-<template>-<hash>`; a retried step has one per attempt."""
    on_argo, embedded = argo
    case = next(c for c in CASES if c.name == "retries")
    wf = run(on_argo, case, timeout=300)
    assert list(on_argo.logs(wf.name, "transient")) == ["transient: exiting 75"] * 3
    everything = list(on_argo.logs(wf.name))
    assert everything.count("any: exiting 3") == 2
    local = run(embedded, case, timeout=90)
    assert list(embedded.logs(local.name, "transient")) == ["transient: exiting 75"] * 3
