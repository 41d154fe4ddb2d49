"""`rollway-deploy` end to end in the embedded engine, against the devstack platform.

A real jar from the Maven repository, a real image pushed to the registry, the real chart from
the git server rendered by helm and applied, the Rollout driven by the real controller.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from devstack.components.kube import kubeconfig
from devstack.stack import Context
from rollway.workflows.backends import WorkflowStatus
from rollway.workflows.backends.embedded import EmbeddedBackend
from tests.support.helpers import wait_for
from tests.support.platform import platform_registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def backend(devstack: Context, devstack_env: dict[str, str], tmp_path_factory) -> EmbeddedBackend:  # type: ignore[no-untyped-def]
    return EmbeddedBackend(
        tmp_path_factory.mktemp("engine"),
        kubeconfig=devstack_env["KUBECONFIG"],
        image_env={"PATH": devstack_env["PATH"], "HOME": str(Path.home()), "LANG": "C.UTF-8"},
    )


@pytest.fixture(scope="module")
def core(devstack: Context) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(devstack))))


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    yield name
    core.delete_namespace(name, _preload_content=False) if _exists(core, name) else None


def _exists(core: client.CoreV1Api, name: str) -> bool:
    return any(ns.metadata.name == name for ns in core.list_namespace().items)


def params(devstack_env: dict[str, str], namespace: str, version: str) -> dict[str, str]:
    platform = platform_registry(devstack_env)  # build-image pushes only there
    registry = platform["ROLLWAY_REGISTRY"]
    return {
        "deployment-id": uuid.uuid4().hex[:12],
        "app": "hello",
        "env": "dev",
        "namespace": namespace,
        "coordinates": f"com.example:hello:{version}",
        "image-repository": f"{registry}/e2e/{namespace}",
        "base-image": platform["ROLLWAY_BASE_IMAGE"],
        "chart-repo": devstack_env["ROLLWAY_CHART_REPO"],
        "strategy": "bluegreen",
    }


def run(backend: EmbeddedBackend, arguments: dict[str, str]) -> str:
    name = f"deploy-{arguments['deployment-id']}"
    backend.submit("rollway-deploy", arguments, labels={}, name=name)
    return name


def settled(backend: EmbeddedBackend, name: str) -> WorkflowStatus:
    """Finished, or waiting at the approval gate."""
    return wait_for(
        f"workflow {name} to finish or suspend",
        lambda: wf if (wf := backend.get(name)).finished or wf.suspended else None,
        timeout=240,
        interval=0.5,
    )


def selector(core: client.CoreV1Api, namespace: str, service: str) -> str:
    svc = core.read_namespaced_service(service, namespace)
    return str(svc.spec.selector.get("rollouts-pod-template-hash"))


def test_deploy_then_bluegreen_upgrade_through_the_gate(
    backend: EmbeddedBackend, devstack_env: dict[str, str], core: client.CoreV1Api, namespace: str
) -> None:
    first = settled(backend, run(backend, params(devstack_env, namespace, "1.0.0")))
    assert first.phase == "Succeeded", first.message
    skipped = {n.name for n in first.nodes if n.phase == "Skipped"}
    assert skipped == {"plan-approval", "approval", "promote"}  # no approval required
    resolved = first.node("resolve-artifact")
    built = first.node("build-image")
    assert resolved and built and resolved.outputs["version"] == "1.0.0"
    pods = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=hello")
    assert pods.items and all(
        p.spec.containers[0].image == built.outputs["image"] for p in pods.items
    )
    annotations = pods.items[0].metadata.annotations
    assert annotations["rollway.io/jar-sha256"] == resolved.outputs["sha256"]
    assert annotations["rollway.io/artifact"] == "com.example:hello:1.0.0"
    active_before = selector(core, namespace, "hello")

    upgrade = run(backend, params(devstack_env, namespace, "1.1.0"))
    gated = settled(backend, upgrade)
    assert gated.suspended is not None and gated.suspended.name == "approval"
    assert gated.node("wait-rollout").outputs["phase"] == "Paused"  # type: ignore[union-attr]
    preview = selector(core, namespace, "hello-preview")
    assert preview != active_before
    assert selector(core, namespace, "hello") == active_before  # active untouched while gated

    backend.resume(upgrade, "displayName=approval")
    done = settled(backend, upgrade)
    assert done.phase == "Succeeded", done.message
    assert selector(core, namespace, "hello") == preview


def test_missing_version_fails_at_resolve_and_changes_nothing(
    backend: EmbeddedBackend, devstack_env: dict[str, str], core: client.CoreV1Api, namespace: str
) -> None:
    wf = settled(backend, run(backend, params(devstack_env, namespace, "9.9.9")))
    assert wf.phase == "Failed"
    failed = wf.node("resolve-artifact")
    assert failed is not None and failed.phase == "Failed"
    assert "9.9.9" in failed.message and "1.1.0" in failed.message  # names what exists
    assert wf.node("apply").phase == "Omitted"  # type: ignore[union-attr]
    assert not _exists(core, namespace)
    assert "report" in [n.name for n in wf.nodes]  # the exit handler still ran


def test_logs_are_kept_per_step(backend: EmbeddedBackend) -> None:
    names = [wf.name for wf in backend.list({})]
    assert names
    lines = list(backend.logs(names[0], "resolve-artifact"))
    assert lines and all(line.startswith("resolve-artifact: ") for line in lines)
    assert Path(backend.engine.state_dir).exists()
