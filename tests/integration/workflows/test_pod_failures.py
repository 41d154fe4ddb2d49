"""A step pod OOM-killed or evicted, on the real controller with real pods, under the
retryStrategy of `rollway-deploy`'s steps as the repository renders it: an OOM kill fails the
step with that reason and is not retried (it comes back on every attempt); a pod evicted through
the Eviction API (as a drain does) is retried, and the step goes on.

An eviction by the kubelet for node pressure would starve the other tests' pods of the shared
node: tests/unit/workflows/test_retries.py checks that message is retried too.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from devstack.stack import Context
from rollway.workflows.backends import WorkflowStatus
from rollway.workflows.backends.argo import ArgoBackend
from rollway.workflows.render import rendered
from tests.integration.workflows.real_pods import pod_namespace
from tests.support.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

#: A limit the step's Python passes at once by filling a buffer eight times as large.
LIMIT = "64Mi"
HOG = "b = bytearray(512 * 1024 * 1024); print(len(b))"


def rollway_retry_strategy() -> dict[str, Any]:
    """The retryStrategy every retried step of `rollway-deploy` has."""
    doc = yaml.safe_load(rendered()["rollway-deploy.yaml"])
    step = next(t for t in doc["spec"]["templates"] if t["name"] == "resolve-artifact")
    return dict(step["retryStrategy"])


#: How long Argo treats a node as just started (its default), plus a margin.
RECENTLY_STARTED = timedelta(seconds=12)
#: Long enough to be evicted while it runs, on its first attempt only (Argo's `{{retries}}`).
NAP = "import time; print('napping', flush=True); time.sleep(120 if '{{retries}}' == '0' else 0)"


def one_step(name: str, image: str, pods: dict[str, Any], code: str,
             **container: Any) -> dict[str, Any]:  # fmt: skip
    """A WorkflowTemplate `name` of one step `name` running `code`, retried as Rollway's are."""
    step = {
        "name": name,
        "container": {"image": image, "command": ["python3", "-c", code], **container},
        "retryStrategy": rollway_retry_strategy(),
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": name},
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "dag": {"tasks": [{"name": name, "template": name}]}},
                          step],
            **pods,
        },
    }  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Pods:
    argo: ArgoBackend
    core: client.CoreV1Api
    namespace: str


@pytest.fixture(scope="module")
def pods(devstack: Context, devstack_env: dict[str, str]) -> Iterator[Pods]:
    image = devstack_env.get("ROLLWAY_STEP_IMAGE")
    if not image:
        pytest.skip("`scripts/devstack env` gives no ROLLWAY_STEP_IMAGE (the Rollway image)")
    api = config.new_client_from_config(config_file=devstack_env["KUBECONFIG"])
    limits = {"memory": LIMIT, "cpu": "200m"}
    with pod_namespace(api, "pod-failures") as (namespace, placement):
        for doc in (
            one_step("hog", image, placement, HOG,
                     resources={"requests": limits, "limits": limits}),
            one_step("nap", image, placement, NAP),
        ):  # fmt: skip
            client.CustomObjectsApi(api).create_namespaced_custom_object(
                "argoproj.io", "v1alpha1", namespace, "workflowtemplates", doc
            )
        argo = ArgoBackend(devstack_env["ROLLWAY_ARGO_SERVER_URL"], namespace=namespace)
        yield Pods(argo, client.CoreV1Api(api), namespace)


def finished(argo: ArgoBackend, name: str) -> WorkflowStatus:
    return wait_for(f"{name} to finish", lambda: (wf := argo.get(name)).finished and wf,
                    timeout=300, interval=1)  # fmt: skip


def test_an_oom_killed_step_fails_with_that_reason_and_is_not_retried(pods: Pods) -> None:
    name = f"hog-{uuid.uuid4().hex[:5]}"
    pods.argo.submit("hog", {}, labels={}, name=name)

    done = finished(pods.argo, name)

    hog = done.node("hog")
    assert hog is not None
    assert (done.phase, hog.phase, hog.retries) == ("Failed", "Failed", 0), hog
    assert "OOMKilled" in hog.message, hog.message


def test_a_step_pod_evicted_through_the_eviction_api_is_retried(pods: Pods) -> None:
    name = f"nap-{uuid.uuid4().hex[:5]}"
    pods.argo.submit("nap", {}, labels={}, name=name)

    def running_pod() -> str | None:
        node = pods.argo.get(name).node("nap")
        if node is None or not node.pods or not node.started_at:
            return None
        # A pod missing within RECENTLY_STARTED_POD_DURATION (10 s) of its node's start is
        # created again as the same attempt, not retried (v3.7.9 operator.go, podReconciliation).
        started = datetime.fromisoformat(node.started_at.replace("Z", "+00:00"))
        if datetime.now(UTC) - started <= RECENTLY_STARTED:
            return None
        pod = pods.core.read_namespaced_pod(node.pods[-1], pods.namespace)
        if pod.status.phase != "Running":
            return None
        # The step itself runs (not only the pod: evicted before its process starts, Argo's
        # emissary may end the container cleanly and the step counts as done).
        try:
            log = pods.core.read_namespaced_pod_log(pod.metadata.name, pods.namespace,
                                                    container="main")  # fmt: skip
        except client.ApiException:  # the container is still starting
            return None
        return str(pod.metadata.name) if "napping" in log else None

    pod = wait_for(f"the step of {name} to run", running_pod, timeout=180, interval=0.5)
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=pods.namespace))
    pods.core.create_namespaced_pod_eviction(pod, pods.namespace, eviction)

    done = finished(pods.argo, name)

    nap = done.node("nap")
    assert nap is not None
    assert (done.phase, nap.phase, nap.retries) == ("Succeeded", "Succeeded", 1), nap
    assert nap.pods[0] == pod
