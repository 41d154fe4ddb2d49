"""Least privilege of the pipeline's pods, read from the rendered WorkflowTemplates: what every
step's pod runs as, what it may write, and which steps get a Kubernetes token at all.

The same templates run on the real controller in test_cluster_pipeline.py, where Pod Security
`restricted` admits the pods and the pipeline still succeeds.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from rollway.workflows.engine import parse
from rollway.workflows.render import rendered
from rollway.workflows.templates import EXECUTOR_SERVICE_ACCOUNT, SCRATCH, STEP_UID, WORKSPACE

#: The only steps that call the Kubernetes API (server-side apply, watching and promoting the
#: Rollout); every other step works on files, Maven, the registry and git.
KUBE_API_STEPS = {"apply", "wait-rollout", "promote"}
CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def templates() -> list[dict[str, Any]]:
    return [yaml.safe_load(text) for text in rendered().values()]


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in doc["spec"]["templates"] if "container" in t]


@pytest.mark.parametrize("doc", templates(), ids=lambda d: d["metadata"]["name"])
def test_pods_run_non_root_with_the_runtime_seccomp_profile(doc: dict[str, Any]) -> None:
    pod = doc["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == pod["runAsGroup"] == pod["fsGroup"] == STEP_UID != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("doc", templates(), ids=lambda d: d["metadata"]["name"])
def test_every_step_container_is_locked_down(doc: dict[str, Any]) -> None:
    for step in steps(doc):
        assert step["container"]["securityContext"] == CONTAINER_SECURITY, step["name"]


@pytest.mark.parametrize("doc", templates(), ids=lambda d: d["metadata"]["name"])
def test_steps_write_only_to_their_volumes(doc: dict[str, Any]) -> None:
    """A read-only root filesystem: outputs, tempfiles and HOME (the image's is /tmp) must be
    on a volume, and the scratch volume is the pod's own, bounded."""
    (scratch,) = [v for v in doc["spec"]["volumes"] if v["name"] == "scratch"]
    assert set(scratch) == {"name", "emptyDir"} and scratch["emptyDir"]["sizeLimit"]
    for step in steps(doc):
        mounts = {m["mountPath"]: m["name"] for m in step["container"]["volumeMounts"]}
        assert mounts == {WORKSPACE: "workspace", SCRATCH: "scratch"}, step["name"]
        for output in step.get("outputs", {}).get("parameters", []):
            path = output["valueFrom"]["path"]
            assert any(path.startswith(f"{mount}/") for mount in mounts), (step["name"], path)


@pytest.mark.parametrize("doc", templates(), ids=lambda d: d["metadata"]["name"])
def test_only_the_steps_that_call_the_kubernetes_api_get_a_token(doc: dict[str, Any]) -> None:
    """No token by default (spec.automountServiceAccountToken: false); Argo's executor writes
    the results with its own account's token, mounted into its init and wait containers."""
    spec = doc["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["executor"] == {"serviceAccountName": EXECUTOR_SERVICE_ACCOUNT}
    assert spec["serviceAccountName"] != EXECUTOR_SERVICE_ACCOUNT
    with_token = {s["name"] for s in steps(doc) if s.get("automountServiceAccountToken")}
    assert with_token == KUBE_API_STEPS & {s["name"] for s in steps(doc)}


def test_the_build_template_mounts_no_token_in_any_step() -> None:
    doc = yaml.safe_load(rendered()["rollway-build.yaml"])
    assert not any(s.get("automountServiceAccountToken") for s in steps(doc))


def test_the_embedded_engine_still_accepts_the_hardened_templates() -> None:
    """It ignores the pod fields it does not model and refuses anything else it does not know."""
    for doc in templates():
        parsed = parse(doc)
        assert {s["name"] for s in steps(doc)} <= set(parsed.templates)
