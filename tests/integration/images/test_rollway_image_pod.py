"""Rollway's image in a real pod on the real node, locked down as the pipeline's pods are:
non-root, read-only root file system, no capabilities, only /tmp writable."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client, config

from devstack.components.images import RollwayImages
from devstack.components.kube import kubeconfig
from devstack.components.node import LABEL, LABEL_VALUE
from devstack.stack import Context, up
from tests.support.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

SCRIPT = (
    "rollway-step --help && rollway-apiserver --help && helm version --short && git --version && "
    "python3.11 -c 'import os, rollway.apiserver.app; print(\"uid\", os.getuid())'"
)


@pytest.fixture(scope="module")
def core(devstack: Context) -> client.CoreV1Api:
    up(devstack, ["kube-proxy", "rollway-images"], echo=lambda line: print(line, file=sys.stderr))
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(devstack))))


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"image-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def test_the_image_runs_locked_down_in_a_pod(
    devstack: Context, core: client.CoreV1Api, namespace: str
) -> None:
    image = RollwayImages().exports(devstack)["ROLLWAY_STEP_IMAGE"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "rollway"},
        "spec": {
            "nodeSelector": {LABEL: LABEL_VALUE},
            "tolerations": [{"key": LABEL, "operator": "Exists", "effect": "NoSchedule"}],
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True},  # the image's own user, 1000
            "containers": [{
                "name": "rollway", "image": image, "command": ["sh", "-c", SCRIPT],
                "securityContext": {"readOnlyRootFilesystem": True,
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }  # fmt: skip
    core.create_namespaced_pod(namespace, pod)

    def ended() -> str | None:
        phase = core.read_namespaced_pod("rollway", namespace).status.phase
        return str(phase) if phase in ("Succeeded", "Failed") else None

    phase = wait_for("the pod to end", ended, timeout=180)
    log = core.read_namespaced_pod_log("rollway", namespace)
    assert phase == "Succeeded", log
    for expected in ("Usage: rollway-step", "Usage: rollway-apiserver", "v3.17.3", "git version"):
        assert expected in log
    assert log.rstrip().endswith("uid 1000")
