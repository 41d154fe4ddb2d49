"""The real Argo Server and workflow-controller: REST API, suspend/resume/terminate, offline lint.

Suspend templates create no pods, so these workflows truly run to completion on KWOK nodes.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.components.argo_workflows import ArgoServer
from devstack.components.kube import kubectl
from devstack.core import REPO
from devstack.gobuild import WORKFLOWS_VERSION
from devstack.stack import Context
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

#: Generous (each step takes about a second): if the controller's Workflow watch fails it only
#: reacts on relists, see the argo_workflows component docstring.
WAIT = 120.0


@pytest.fixture(scope="module")
def argo(devstack: Context) -> Iterator[httpx.Client]:
    url = ArgoServer().exports(devstack)["ROLLWAY_ARGO_SERVER_URL"]
    with httpx.Client(base_url=url, timeout=10.0) as http:
        yield http


@pytest.fixture
def namespace(devstack: Context) -> Iterator[str]:
    name = f"wf-{uuid.uuid4().hex[:6]}"
    kubectl(devstack, "create", "namespace", name)
    yield name
    kubectl(devstack, "delete", "namespace", name, "--wait=false")


#: A template whose entrypoint is a single suspend template: no pods, pure controller logic.
APPROVAL_TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "WorkflowTemplate",
    "metadata": {"name": "approval"},
    "spec": {"entrypoint": "approve", "templates": [{"name": "approve", "suspend": {}}]},
}


def submit(argo: httpx.Client, namespace: str) -> str:
    """A workflow of the approval template (the controller runs only Workflows that reference a
    WorkflowTemplate: workflowRestrictions)."""
    resp = argo.post(
        f"/api/v1/workflow-templates/{namespace}", json={"template": APPROVAL_TEMPLATE}
    )
    assert resp.status_code == 200, resp.text
    workflow = {
        "metadata": {"generateName": "approval-"},
        "spec": {"workflowTemplateRef": {"name": "approval"}},
    }
    resp = argo.post(f"/api/v1/workflows/{namespace}", json={"workflow": workflow})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["metadata"]["name"])


def get(argo: httpx.Client, namespace: str, name: str) -> dict[str, Any]:
    resp = argo.get(f"/api/v1/workflows/{namespace}/{name}")
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def phase(argo: httpx.Client, namespace: str, name: str, want: str) -> dict[str, Any]:
    """The workflow once it is in phase `want`, else {} (falsy, so `wait_for` keeps polling)."""
    wf = get(argo, namespace, name)
    return wf if wf.get("status", {}).get("phase") == want else {}


def listed(argo: httpx.Client, namespace: str) -> list[str]:
    resp = argo.get(f"/api/v1/workflows/{namespace}")
    assert resp.status_code == 200, resp.text
    return [w["metadata"]["name"] for w in resp.json().get("items") or []]


def suspended(argo: httpx.Client, namespace: str, name: str) -> dict[str, Any]:
    """Wait until the controller has the workflow Running on a Running Suspend node."""

    def check() -> dict[str, Any]:
        wf = phase(argo, namespace, name, "Running")
        nodes = wf.get("status", {}).get("nodes", {}).values()
        return next(
            (n for n in nodes if n.get("type") == "Suspend" and n.get("phase") == "Running"), {}
        )

    return wait_for(f"{name} suspended", check, timeout=WAIT)


def test_argo_server_answers_version(argo: httpx.Client) -> None:
    resp = argo.get("/api/v1/version")
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == WORKFLOWS_VERSION


def test_suspend_then_resume_succeeds(argo: httpx.Client, namespace: str) -> None:
    name = submit(argo, namespace)
    node = suspended(argo, namespace, name)
    assert node["templateName"] == "approve"
    # The server lists from its own informer-fed store, which may lag the create by a moment.
    wait_for(f"{name} listed", lambda: listed(argo, namespace) == [name], WAIT)

    resp = argo.put(
        f"/api/v1/workflows/{namespace}/{name}/resume",
        json={"namespace": namespace, "name": name, "nodeFieldSelector": "templateName=approve"},
    )
    assert resp.status_code == 200, resp.text
    wf = wait_for(f"{name} Succeeded", lambda: phase(argo, namespace, name, "Succeeded"), WAIT)
    assert {n["phase"] for n in wf["status"]["nodes"].values()} == {"Succeeded"}


def test_terminate_fails_a_suspended_workflow(argo: httpx.Client, namespace: str) -> None:
    name = submit(argo, namespace)
    suspended(argo, namespace, name)
    resp = argo.put(
        f"/api/v1/workflows/{namespace}/{name}/terminate",
        json={"namespace": namespace, "name": name},
    )
    assert resp.status_code == 200, resp.text
    wf = wait_for(f"{name} Failed", lambda: phase(argo, namespace, name, "Failed"), WAIT)
    assert wf["status"].get("message") == "Stopped with strategy 'Terminate'"


def argo_lint(devstack: Context, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(devstack.paths.bin / "argo"), "lint", "--offline", "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_argo_lint_accepts_the_workflow_templates(devstack: Context) -> None:
    files = sorted((REPO / "workflow-templates").glob("*.yaml"))
    assert files
    proc = argo_lint(devstack, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_argo_lint_rejects_a_broken_template(devstack: Context, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: broken}\n"
        "spec:\n  entrypoint: missing\n  templates:\n  - {name: main, suspend: {}}\n"
    )
    proc = argo_lint(devstack, broken)
    assert proc.returncode != 0
    assert "missing" in proc.stdout + proc.stderr
