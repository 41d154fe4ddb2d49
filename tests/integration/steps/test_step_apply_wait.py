"""`render` → `apply` → `wait-rollout` against the devstack cluster and the real Argo Rollouts
controller (pods are KWOK's: Running and Ready without containers, so no image is pulled).

A blue-green release of charts/app: the first deployment becomes Healthy; a second one with a
new image digest is shown as a Rollout change by `render --diff`, then applied, and pauses for
promotion with the active Service still on the old pods.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from devstack.core import REPO
from rollway.errors import InvalidInput
from rollway.kube.client import load_api
from rollway.rollouts import RolloutsClient
from rollway.rollouts.client import GROUP, PLURAL, VERSION
from tests.support.helpers import wait_for
from tests.support.step_runner import Quiet, StepRun, invoke, run

pytestmark = pytest.mark.integration

CHART = REPO / "charts" / "app"
RELEASE = "orders"
REPOSITORY = "127.0.0.1:25000/team/orders"
CHART_REPO_COMMIT = "c" * 40


def digest(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


@pytest.fixture(scope="module")
def env(devstack_env: dict[str, str]) -> Quiet:
    return Quiet(devstack_env)


@pytest.fixture(scope="module")
def api(env: Quiet) -> client.ApiClient:
    return load_api(env["KUBECONFIG"])


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    """A name for a namespace that does not exist yet (apply creates it); deleted afterwards."""
    name = f"steps-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        client.CoreV1Api(api).delete_namespace(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise


def as_dict(api: client.ApiClient, obj: object) -> dict[str, Any]:
    """A typed client model as the plain JSON object the API sent."""
    found: dict[str, Any] = api.sanitize_for_serialization(obj)
    return found


def namespace_gone(api: client.ApiClient, name: str) -> bool:
    """Absent, or on its way out (Terminating: the namespace controller empties it)."""
    try:
        found = as_dict(api, client.CoreV1Api(api).read_namespace(name))
    except client.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return bool(found["status"]["phase"] == "Terminating")


def render(env: Quiet, work: Path, image_digest: str, *extra: str) -> StepRun:
    namespace = extra[0]
    return invoke(
        env,
        work / "render-outputs",
        "render",
        "--chart",
        str(CHART),
        "--release",
        RELEASE,
        "--namespace",
        namespace,
        "--image",
        f"{REPOSITORY}@{image_digest}",
        "--strategy",
        "bluegreen",
        "--replicas",
        "2",
        "--out",
        str(work / "manifests.yaml"),
        *extra[1:],
    )


def apply_args(manifests: Path, namespace: str, deployment: str, image_digest: str) -> list[str]:
    return [
        "--manifests", str(manifests),
        "--namespace", namespace,
        "--deployment-id", deployment,
        "--artifact", f"com.example:hello:{deployment}",
        "--jar-sha256", hashlib.sha256(deployment.encode()).hexdigest(),
        "--image-digest", image_digest,
        "--chart-repo", "http://127.0.0.1:23000/rollway/charts.git",
        "--chart-commit", CHART_REPO_COMMIT,
    ]  # fmt: skip


def provenance(deployment: str, image_digest: str) -> dict[str, str]:
    return {
        "rollway.io/artifact": f"com.example:hello:{deployment}",
        "rollway.io/jar-sha256": hashlib.sha256(deployment.encode()).hexdigest(),
        "rollway.io/image-digest": image_digest,
        "rollway.io/chart-repo": "http://127.0.0.1:23000/rollway/charts.git",
        "rollway.io/chart-commit": CHART_REPO_COMMIT,
    }


def read_rollout(api: client.ApiClient, namespace: str) -> dict[str, Any]:
    custom = client.CustomObjectsApi(api)
    return as_dict(
        api, custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, RELEASE)
    )


def pods_of(api: client.ApiClient, namespace: str, deployment: str) -> list[dict[str, Any]]:
    selector = f"rollway.io/deployment-id={deployment}"
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector)
    return [as_dict(api, pod) for pod in pods.items]


def test_bluegreen_release_from_render_to_paused(
    env: Quiet, api: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    first, second = digest("orders 1.0.0"), digest("orders 1.1.0")

    # 1. first deployment, applied by the console script into a namespace that does not exist
    one = tmp_path / "one"
    assert render(env, one, first, namespace).exit_code == 0
    applied = run(
        env, one / "apply", "apply", *apply_args(one / "manifests.yaml", namespace, "dep-1", first)
    )
    assert applied.exit_code == 0, applied.stderr
    assert json.loads(applied.outputs["applied"]) == [
        f"Service/{RELEASE}",
        f"Service/{RELEASE}-preview",
        f"Rollout/{RELEASE}",
    ]
    assert (applied.outputs["rollout"], applied.outputs["generation"]) == (RELEASE, "1")
    assert applied.outputs["namespace-created"] == "true"

    healthy = invoke(env, one / "wait", "wait-rollout", "--namespace", namespace, "--name", RELEASE,
                     "--timeout", "240")  # fmt: skip
    assert healthy.exit_code == 0, healthy.stderr or healthy.exception
    assert (healthy.outputs["phase"], healthy.outputs["revision"]) == ("Healthy", "1")
    stable = healthy.outputs["stable-hash"]
    assert stable and healthy.outputs["active-hash"] == stable
    assert json.loads(healthy.outputs["images"]) == [f"{REPOSITORY}@{first}"]

    # 2. provenance on the Rollout, its pod template and the running pods
    rollout = read_rollout(api, namespace)
    for metadata in (rollout["metadata"], rollout["spec"]["template"]["metadata"]):
        assert metadata["labels"]["rollway.io/deployment-id"] == "dep-1"
        assert provenance("dep-1", first).items() <= metadata["annotations"].items()
    pods = pods_of(api, namespace, "dep-1")
    assert len(pods) == 2
    for pod in pods:
        assert provenance("dep-1", first).items() <= pod["metadata"]["annotations"].items()
        assert pod["spec"]["containers"][0]["image"] == f"{REPOSITORY}@{first}"

    # 3. a new image digest: the dry-run diff shows the Rollout changed, nothing else
    two = tmp_path / "two"
    diffed = render(env, two, second, namespace, "--diff")
    assert diffed.exit_code == 0, diffed.stderr or diffed.exception
    assert json.loads(diffed.outputs["changes"]) == {
        "created": [],
        "changed": [f"Rollout/{RELEASE}"],
        "unchanged": [f"Service/{RELEASE}", f"Service/{RELEASE}-preview"],
    }
    diff_lines = diffed.outputs["diff"].splitlines()
    assert f"-      - image: {REPOSITORY}@{first}" in diff_lines
    assert f"+      - image: {REPOSITORY}@{second}" in diff_lines
    assert read_rollout(api, namespace)["metadata"]["generation"] == 1  # a dry run changed nothing

    # 4. applied, the blue-green pauses for promotion; the active Service stays on the old pods
    applied = invoke(env, two / "apply", "apply",
                     *apply_args(two / "manifests.yaml", namespace, "dep-2", second))  # fmt: skip
    assert applied.exit_code == 0, applied.stderr or applied.exception
    assert (applied.outputs["generation"], applied.outputs["namespace-created"]) == ("2", "false")
    paused = invoke(env, two / "wait", "wait-rollout", "--namespace", namespace, "--name", RELEASE,
                    "--until", "paused-or-healthy", "--timeout", "240")  # fmt: skip
    assert paused.exit_code == 0, paused.stderr or paused.exception
    assert (paused.outputs["phase"], paused.outputs["revision"]) == ("Paused", "2")
    assert paused.outputs["active-hash"] == stable
    assert paused.outputs["preview-hash"] not in ("", stable)
    active = as_dict(api, client.CoreV1Api(api).read_namespaced_service(RELEASE, namespace))
    assert active["spec"]["selector"]["rollouts-pod-template-hash"] == stable
    assert len(pods_of(api, namespace, "dep-2")) == 2

    # 5. waiting for Healthy while it waits for promotion times out, naming where it stopped
    timed_out = run(env, two / "timeout", "wait-rollout", "--namespace", namespace,
                    "--name", RELEASE, "--timeout", "3")  # fmt: skip
    assert timed_out.exit_code != 0
    assert "did not become Healthy within 3s (last: Paused - BlueGreenPause)" in timed_out.stderr

    # 6. aborted, the rollout is Degraded: the wait fails with the rollout's message
    RolloutsClient(api).abort(namespace, RELEASE)
    degraded = run(env, two / "degraded", "wait-rollout", "--namespace", namespace,
                   "--name", RELEASE, "--timeout", "120")  # fmt: skip
    assert degraded.exit_code != 0
    assert f"rollout '{RELEASE}' is Degraded: RolloutAborted" in degraded.stderr
    assert degraded.outputs["phase"] == "Degraded"


def test_apply_checks_everything_before_changing_anything(
    env: Quiet, api: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    image = digest("orders 2.0.0")
    assert render(env, tmp_path, image, namespace).exit_code == 0
    manifests = tmp_path / "manifests.yaml"
    good = apply_args(manifests, namespace, "dep-1", image)

    def apply(args: list[str]) -> StepRun:
        return invoke(env, tmp_path / "apply", "apply", *args)

    bad_id = apply([*good[:5], "Not A Label", *good[6:]])
    assert isinstance(bad_id.exception, InvalidInput)
    assert bad_id.exception.field == "deployment-id"

    docs = list(yaml.safe_load_all(manifests.read_text()))
    cluster_scoped = tmp_path / "cluster-scoped.yaml"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": f"{namespace}-sneaky"}, "rules": []}  # fmt: skip
    cluster_scoped.write_text(yaml.safe_dump_all([*docs, role]))
    refused = apply(apply_args(cluster_scoped, namespace, "dep-1", image))
    assert isinstance(refused.exception, InvalidInput)
    assert "ClusterRole/" in str(refused.exception) and "cluster-scoped" in str(refused.exception)

    unknown_kind = tmp_path / "unknown-kind.yaml"
    unknown_kind.write_text(yaml.safe_dump_all([{"apiVersion": "example.com/v1", "kind": "Gizmo",
                                                  "metadata": {"name": "g"}}, *docs]))  # fmt: skip
    refused = apply(apply_args(unknown_kind, namespace, "dep-1", image))
    assert isinstance(refused.exception, InvalidInput)
    assert "serves no Gizmo in example.com/v1" in str(refused.exception)

    # The API server's own validation (a dry run of every object) runs before the first apply:
    # the Service is fine, the Rollout after it is not, and the Service must not be created.
    invalid = tmp_path / "invalid.yaml"
    broken = json.loads(json.dumps(docs))
    broken[-1]["spec"]["replicas"] = "two"
    invalid.write_text(yaml.safe_dump_all(broken))
    refused = apply(apply_args(invalid, namespace, "dep-1", image))
    assert isinstance(refused.exception, InvalidInput)
    assert f"Rollout/{RELEASE}" in str(refused.exception)
    assert "the API server refuses it" in str(refused.exception)

    assert wait_for("no trace of the refused applies", lambda: namespace_gone(api, namespace))
