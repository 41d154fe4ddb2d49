"""Least privilege on the cluster, as the devstack's kube-apiserver and Argo's controller decide
it for Rollway installed by its own chart (`rollway-release`, namespace rollway-system).

Each right is asked with `kubectl auth can-i --as` the account (what it must and must not do),
and the bypasses that matter are attempted for real: rewriting a WorkflowTemplate, a Workflow
that references none or overrides the template (refused on admission, and by the controller for
anyone else), reading the platform's credentials, creating or relabelling a namespace, and
running a root pod where Pod Security `restricted` is enforced.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from devstack.components.pod_security import admin_namespace
from devstack.components.release import NAMESPACE as HOME
from devstack.stack import Context, up
from rollway.workflows.templates import EXECUTOR_SERVICE_ACCOUNT, SERVICE_ACCOUNT
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

API = f"system:serviceaccount:{HOME}:rollway-apiserver"
PIPELINE = f"system:serviceaccount:{HOME}:{SERVICE_ACCOUNT}"
EXECUTOR = f"system:serviceaccount:{HOME}:{EXECUTOR_SERVICE_ACCOUNT}"
#: The message of Argo's controller for a Workflow without workflowTemplateRef (operator.go).
REFERENCE_MODE = "workflows must use workflowTemplateRef to be executed"


class Right(NamedTuple):
    """`who` may (`allowed`) `verb` the `resource` (`resource/subresource`, or `name` of one
    object) in `where`: home (Rollway's namespace), target (an app's) or cluster."""

    who: str
    verb: str
    resource: str
    where: str
    allowed: bool
    name: str = ""

    def __str__(self) -> str:
        who = self.who.rsplit(":", 1)[-1]
        what = f"{self.resource}/{self.name}" if self.name else self.resource
        return f"{who} {'may' if self.allowed else 'may not'} {self.verb} {what} in {self.where}"


RIGHTS = [
    # The API server: submits and follows the pipeline's workflows, reads (never writes) the
    # templates, acts on Rollouts; no credentials, no namespaces, no pods of its own.
    Right(API, "create", "workflows.argoproj.io", "home", True),
    Right(API, "watch", "workflows.argoproj.io", "home", True),
    Right(API, "update", "workflows.argoproj.io", "home", True),
    Right(API, "get", "workflowtemplates.argoproj.io", "home", True),
    Right(API, "get", "pods/log", "home", True),
    Right(API, "delete", "pods", "home", True),  # a retry, through Argo Server
    Right(API, "patch", "rollouts.argoproj.io/status", "target", True),
    Right(API, "create", "workflowtemplates.argoproj.io", "home", False),
    Right(API, "update", "workflowtemplates.argoproj.io", "home", False),
    Right(API, "patch", "workflowtemplates.argoproj.io", "home", False),
    Right(API, "delete", "workflowtemplates.argoproj.io", "home", False),
    Right(API, "create", "clusterworkflowtemplates.argoproj.io", "cluster", False),
    Right(API, "delete", "workflows.argoproj.io", "home", False),
    Right(API, "get", "secrets", "home", False, "rollway-registry"),
    Right(API, "list", "secrets", "target", False),
    Right(API, "create", "pods", "home", False),
    Right(API, "create", "pods/exec", "home", False),
    Right(API, "create", "namespaces", "cluster", False),
    Right(API, "create", "rollouts.argoproj.io", "target", False),
    Right(API, "create", "rolebindings.rbac.authorization.k8s.io", "home", False),
    # The pipeline: server-side apply of the app's objects in the target namespaces, nothing else.
    Right(PIPELINE, "create", "rollouts.argoproj.io", "target", True),
    Right(PIPELINE, "patch", "services", "target", True),
    Right(PIPELINE, "patch", "rollouts.argoproj.io/status", "target", True),
    Right(PIPELINE, "get", "namespaces", "target", True),
    Right(PIPELINE, "get", "secrets", "home", False, "rollway-registry"),
    Right(PIPELINE, "get", "secrets", "home", False, "rollway-git"),
    Right(PIPELINE, "get", "secrets", "target", False),
    Right(PIPELINE, "list", "secrets", "target", False),
    Right(PIPELINE, "get", "configmaps", "target", False),
    Right(PIPELINE, "create", "namespaces", "cluster", False),
    Right(PIPELINE, "patch", "namespaces", "target", False),  # e.g. lift Pod Security
    Right(PIPELINE, "create", "pods", "target", False),
    Right(PIPELINE, "create", "roles.rbac.authorization.k8s.io", "target", False),
    Right(PIPELINE, "create", "rolebindings.rbac.authorization.k8s.io", "target", False),
    Right(PIPELINE, "delete", "rollouts.argoproj.io", "target", False),
    Right(PIPELINE, "create", "workflows.argoproj.io", "home", False),
    Right(PIPELINE, "create", "workflowtaskresults.argoproj.io", "home", False),
    Right(PIPELINE, "update", "workflowtemplates.argoproj.io", "home", False),
    # Argo's executor in the pipeline's pods: the steps' results and nothing more.
    Right(EXECUTOR, "create", "workflowtaskresults.argoproj.io", "home", True),
    Right(EXECUTOR, "patch", "workflowtaskresults.argoproj.io", "home", True),
    Right(EXECUTOR, "get", "secrets", "home", False, "rollway-registry"),
    Right(EXECUTOR, "get", "pods", "home", False),
    Right(EXECUTOR, "create", "workflows.argoproj.io", "home", False),
    Right(EXECUTOR, "patch", "rollouts.argoproj.io", "target", False),
]


@pytest.fixture(scope="module")
def release(platform: Context) -> Context:
    """Rollway as its chart installs it: the accounts and their RBAC under test."""
    up(platform, ["rollway-release", "argo-workflow-controller"])
    return platform


@pytest.fixture(scope="module")
def target(release: Context, devstack_env: dict[str, str]) -> Iterator[str]:
    """A namespace apps are released into, created the admin's way."""
    name = f"sec-{uuid.uuid4().hex[:6]}-dev"
    admin_namespace(release, name)
    yield name
    kubectl(devstack_env, "delete", "namespace", name, "--wait=false")


def kubectl(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *args], input=stdin, env=env, capture_output=True,
                          text=True, check=False, timeout=60)  # fmt: skip


def can_i(env: dict[str, str], right: Right, target: str) -> bool:
    resource, _, sub = right.resource.partition("/")
    what = f"{resource}/{right.name}" if right.name else resource
    args = ["auth", "can-i", right.verb, what, "--as", right.who]
    if sub:
        args += ["--subresource", sub]
    if right.where != "cluster":
        args += ["-n", HOME if right.where == "home" else target]
    answer = kubectl(env, *args).stdout.strip()
    assert answer in ("yes", "no"), answer
    return answer == "yes"


@pytest.mark.parametrize("right", RIGHTS, ids=str)
def test_each_account_has_exactly_its_rights(
    devstack_env: dict[str, str], target: str, right: Right
) -> None:
    assert can_i(devstack_env, right, target) is right.allowed


def refused(proc: subprocess.CompletedProcess[str]) -> str:
    """The kube-apiserver's refusal of a request (exit status and message checked)."""
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def test_the_apiserver_cannot_rewrite_a_workflow_template(
    devstack_env: dict[str, str], release: Context
) -> None:
    patch = {"spec": {"serviceAccountName": "default"}}
    out = refused(kubectl(devstack_env, "-n", HOME, "patch", "workflowtemplate", "rollway-deploy",
                          "--type=merge", "-p", json.dumps(patch), "--as", API))  # fmt: skip
    assert "Forbidden" in out or "forbidden" in out, out


def workflow_phase(env: dict[str, str], name: str) -> dict[str, Any]:
    found = kubectl(env, "-n", HOME, "get", "workflow", name, "-o", "json")
    status = json.loads(found.stdout).get("status", {}) if found.returncode == 0 else {}
    return status if status.get("phase") in ("Error", "Failed", "Succeeded") else {}


def inline_workflow(name: str) -> dict[str, Any]:
    """A Workflow that brings its own template: any image, any command, any account."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {"entrypoint": "main", "serviceAccountName": SERVICE_ACCOUNT,
                 "templates": [{"name": "main", "container": {
                     "image": "registry.invalid/anything", "command": ["id"]}}]},
    }  # fmt: skip


def from_template(name: str, **spec: Any) -> dict[str, Any]:
    """A Workflow shaped as Argo Server's submit makes it from `rollway-deploy`, plus `spec`."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, "labels": {"workflows.argoproj.io/workflow-template":
                                              "rollway-deploy"}},
        "spec": {"workflowTemplateRef": {"name": "rollway-deploy"},
                 "arguments": {"parameters": [{"name": "app", "value": "x"}]}, **spec},
    }  # fmt: skip


def create_as_apiserver(
    env: dict[str, str], workflow: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    """Create `workflow` as the API server's account; a server-side dry run (admission runs in
    full, nothing is stored, so no pipeline starts)."""
    return kubectl(env, "-n", HOME, "create", "--dry-run=server", "-f", "-", "--as", API,
                   stdin=json.dumps(workflow))  # fmt: skip


def test_the_apiserver_may_create_a_workflow_from_rollways_template(
    devstack_env: dict[str, str], release: Context
) -> None:
    """What Argo Server's submit creates passes, and so do a stop and a suspension later."""
    for spec in ({}, {"shutdown": "Stop"}, {"suspend": True}):
        done = create_as_apiserver(
            devstack_env, from_template(f"ok-{uuid.uuid4().hex[:6]}", **spec)
        )
        assert done.returncode == 0, (spec, done.stderr)


def test_a_workflow_that_references_no_template_is_refused_on_admission(
    devstack_env: dict[str, str], release: Context
) -> None:
    out = refused(
        create_as_apiserver(devstack_env, inline_workflow(f"inline-{uuid.uuid4().hex[:6]}"))
    )
    assert "may run only Rollway's WorkflowTemplates" in out, out


@pytest.mark.parametrize(
    "spec",
    [
        {"podSpecPatch": '{"containers":[{"name":"main","command":["sh"]}]}'},
        {"serviceAccountName": "default"},
        {"entrypoint": "promote"},
        {"workflowTemplateRef": {"name": "rollway-deploy", "clusterScope": True}},
    ],
    ids=lambda spec: next(iter(spec)),
)
def test_a_workflow_that_overrides_the_template_is_refused_on_admission(
    devstack_env: dict[str, str], release: Context, spec: dict[str, Any]
) -> None:
    """Argo would merge these over the template: another command, account or entry point."""
    out = refused(
        create_as_apiserver(devstack_env, from_template(f"over-{uuid.uuid4().hex[:6]}", **spec))
    )
    field = next(iter(spec))
    assert f"spec.{field}" in out or "may run only Rollway's WorkflowTemplates" in out, out


def test_the_admission_policy_names_every_field_argo_would_merge(
    devstack_env: dict[str, str], release: Context
) -> None:
    """Every field of the installed Argo's WorkflowSpec is refused, but the four Rollway needs."""
    crd = json.loads(
        kubectl(devstack_env, "get", "crd", "workflows.argoproj.io", "-o", "json").stdout
    )
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    fields = set(schema["properties"]) - {"workflowTemplateRef", "arguments", "suspend", "shutdown"}
    policy = json.loads(kubectl(devstack_env, "get", "validatingadmissionpolicy",
                                f"{HOME}.rollway-workflows", "-o", "json").stdout)  # fmt: skip
    refused_fields = {v["expression"].removeprefix("!has(object.spec.").removesuffix(")")
                      for v in policy["spec"]["validations"][1:]}  # fmt: skip
    assert refused_fields == fields


def test_the_controller_runs_no_workflow_without_a_template_reference(
    devstack_env: dict[str, str], release: Context
) -> None:
    """The second line, for whoever else may create Workflows there (here the cluster admin,
    whom the admission policy does not cover): Argo's workflowRestrictions
    (templateReferencing: Strict) fails it before any pod starts."""
    name = f"inline-{uuid.uuid4().hex[:6]}"
    created = kubectl(devstack_env, "-n", HOME, "create", "-f", "-",
                      stdin=json.dumps(inline_workflow(name)))  # fmt: skip
    assert created.returncode == 0, created.stderr
    try:
        status = wait_for(f"the controller to end {name}",
                          lambda: workflow_phase(devstack_env, name), timeout=120)  # fmt: skip
        assert status["phase"] == "Error"
        assert REFERENCE_MODE in status.get("message", ""), status
        assert not status.get("nodes")  # nothing ran
        pods = kubectl(devstack_env, "-n", HOME, "get", "pods", "-o", "name", "-l",
                       f"workflows.argoproj.io/workflow={name}")  # fmt: skip
        assert pods.returncode == 0 and pods.stdout.strip() == "", pods
    finally:
        kubectl(devstack_env, "-n", HOME, "delete", "workflow", name, "--wait=false")


def test_the_pipeline_cannot_read_the_platform_credentials(
    devstack_env: dict[str, str], release: Context
) -> None:
    for secret in ("rollway-registry", "rollway-maven", "rollway-git", "rollway-callback"):
        out = refused(kubectl(devstack_env, "-n", HOME, "get", "secret", secret,
                              "--as", PIPELINE))  # fmt: skip
        assert "forbidden" in out.lower(), (secret, out)


def test_the_pipeline_cannot_create_or_relabel_a_namespace(
    devstack_env: dict[str, str], target: str
) -> None:
    name = f"sec-{uuid.uuid4().hex[:6]}-made"
    out = refused(kubectl(devstack_env, "create", "namespace", name, "--as", PIPELINE))
    assert "forbidden" in out.lower(), out
    out = refused(kubectl(devstack_env, "label", "--overwrite", "namespace", target,
                          "pod-security.kubernetes.io/enforce=privileged", "--as", PIPELINE))  # fmt: skip
    assert "forbidden" in out.lower(), out


def test_an_admin_namespace_enforces_pod_security_restricted(
    devstack_env: dict[str, str], target: str
) -> None:
    """Even the admin cannot run a pod there that `restricted` refuses (here: as root, with
    privilege escalation and every capability)."""
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"},
        "spec": {"containers": [{"name": "root", "image": "registry.invalid/anything",
                                 "securityContext": {"runAsUser": 0}}]},
    }  # fmt: skip
    out = refused(kubectl(devstack_env, "-n", target, "create", "-f", "-",
                          stdin=json.dumps(pod)))  # fmt: skip
    assert 'violates PodSecurity "restricted' in out, out
