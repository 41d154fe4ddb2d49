"""The devstack's real node: real containers, cluster DNS, Services, `kubectl logs/exec`, and the
fence that keeps every packet on this machine.

Pods opt in with a nodeSelector on `rollway.io/real=true` and a toleration of its taint, pull the
devstack's JRE base image with an imagePullSecret, and run `Probe` (tests/.../probe/Probe.java,
compiled here and mounted from a ConfigMap: the JRE image has no shell tools).
"""

from __future__ import annotations

import base64
import errno
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from devstack.base_image import AMD64_TAG, BASE_REPO
from devstack.components.kube import kube_bin, kubeconfig
from devstack.components.network import (
    GATEWAY,
    HOST_LEAK_COUNTER,
    KWOK_CIDR,
    POD_EGRESS_COUNTER,
    counter,
)
from devstack.components.node import LABEL, LABEL_VALUE, NODE_NAME
from devstack.components.registry import ADDR, USERNAME
from devstack.core import REPO
from devstack.stack import Context, up
from tests.support.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

IMAGE = f"{ADDR}/{BASE_REPO}:{AMD64_TAG}"
#: The same registry as pods reach it (through the relay on the bridge).
BRIDGE_REGISTRY = f"{GATEWAY}:{ADDR.rsplit(':', 1)[1]}"
PULL_SECRET = "devstack-registry"
PROBE_SOURCE = Path(__file__).parent / "probe" / "Probe.java"
#: A documentation address (TEST-NET-2): never a real host, so even a broken fence would reach
#: nobody; with the fence the connection is refused before any packet leaves.
OUTSIDE = "198.51.100.7"
FINAL = ("Succeeded", "Failed")


@pytest.fixture(scope="module")
def node(devstack: Context) -> Context:
    up(devstack, ["kube-proxy", "registry"], echo=lambda line: print(line, file=sys.stderr))
    return devstack


@pytest.fixture(scope="module")
def core(node: Context) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(node))))


@pytest.fixture(scope="module")
def probe_class(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("probe")
    subprocess.run(["javac", "--release", "17", "-d", str(out), str(PROBE_SOURCE)], check=True)
    return (out / "Probe.class").read_bytes()


@pytest.fixture(scope="module")
def namespace(node: Context, core: client.CoreV1Api, probe_class: bytes) -> Iterator[str]:
    name = f"real-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    password = node.secret("registry-password")
    auth = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
    login = {"username": USERNAME, "password": password, "auth": auth}
    docker = {"auths": {ADDR: login, BRIDGE_REGISTRY: login}}
    core.create_namespaced_secret(name, client.V1Secret(
        metadata=client.V1ObjectMeta(name=PULL_SECRET), type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": base64.b64encode(json.dumps(docker).encode()).decode()}))  # fmt: skip
    core.create_namespaced_config_map(name, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="probe"),
        binary_data={"Probe.class": base64.b64encode(probe_class).decode()}))  # fmt: skip
    wait_for("default service account", lambda: core.list_namespaced_service_account(name).items)
    yield name
    core.delete_namespace(name)


def pod(
    name: str, *args: str, labels: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A pod that opts in to the real node and runs `java Probe args…`."""
    container: dict[str, Any] = {
        "name": "probe",
        "image": IMAGE,
        "command": [
            "java",
            "-Xshare:off",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            "/probe",
            "Probe",
            *args,
        ],
        "volumeMounts": [{"name": "probe", "mountPath": "/probe"}],
        **extra,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "nodeSelector": {LABEL: LABEL_VALUE},
            "tolerations": [{"key": LABEL, "operator": "Equal", "value": LABEL_VALUE,
                             "effect": "NoSchedule"}],
            "imagePullSecrets": [{"name": PULL_SECRET}],
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "containers": [container],
            "volumes": [{"name": "probe", "configMap": {"name": "probe"}}],
        },
    }  # fmt: skip


def run_to_end(core: client.CoreV1Api, namespace: str, manifest: dict[str, Any]) -> tuple[str, str]:
    """Create the pod, wait until it ends, and return its phase and its log (read through the
    apiserver from the kubelet, as `kubectl logs` does)."""
    name = manifest["metadata"]["name"]
    core.create_namespaced_pod(namespace, manifest)
    phase = wait_for(f"pod {name} to end", lambda: _phase(core, namespace, name) in FINAL and
                     _phase(core, namespace, name), timeout=120)  # fmt: skip
    return str(phase), core.read_namespaced_pod_log(name, namespace)


def _phase(core: client.CoreV1Api, namespace: str, name: str) -> str:
    return str(core.read_namespaced_pod(name, namespace).status.phase)


def test_a_real_container_runs_java_on_the_real_node(
    core: client.CoreV1Api, namespace: str
) -> None:
    phase, log = run_to_end(core, namespace, pod("java", "dns", "localhost"))
    assert phase == "Succeeded", log
    found = core.read_namespaced_pod("java", namespace)
    assert found.spec.node_name == NODE_NAME
    assert found.status.pod_ip.startswith(GATEWAY.rsplit(".", 1)[0] + ".")
    (state,) = found.status.container_statuses
    assert state.state.terminated.exit_code == 0
    assert "127.0.0.1" in log


def test_images_pull_from_the_registry_at_the_bridge_address_too(
    core: client.CoreV1Api, namespace: str
) -> None:
    manifest = pod("bridge-pull", "dns", "localhost")
    manifest["spec"]["containers"][0]["image"] = f"{BRIDGE_REGISTRY}/{BASE_REPO}:{AMD64_TAG}"
    manifest["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    phase, log = run_to_end(core, namespace, manifest)
    assert phase == "Succeeded", log


def test_an_image_from_outside_is_refused_without_leaving_the_machine(
    core: client.CoreV1Api, namespace: str
) -> None:
    manifest = pod("outside-image", "dns", "localhost")
    manifest["spec"]["containers"][0]["image"] = "docker.io/library/busybox:1.36"
    core.create_namespaced_pod(namespace, manifest)

    def pull_error() -> str:
        events = core.list_namespaced_event(
            namespace, field_selector="involvedObject.name=outside-image"
        )
        return next(
            (e.message for e in events.items if e.reason == "Failed" and "pull" in e.message), ""
        )

    # Refused by a proxy that does not exist, before any name is resolved.
    assert "proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused" in wait_for(
        "the pull to fail", pull_error, timeout=60
    )


def test_pods_without_the_opt_in_never_land_on_the_real_node(
    core: client.CoreV1Api, namespace: str
) -> None:
    plain = pod("plain", "dns", "localhost")
    del plain["spec"]["nodeSelector"], plain["spec"]["tolerations"]
    core.create_namespaced_pod(namespace, plain)
    node = wait_for("plain pod scheduled",
                    lambda: core.read_namespaced_pod("plain", namespace).spec.node_name)  # fmt: skip
    assert node != NODE_NAME


def test_cluster_dns_resolves_services_and_nothing_else(
    core: client.CoreV1Api, namespace: str
) -> None:
    phase, log = run_to_end(
        core, namespace, pod("dns", "dns", "kubernetes.default.svc.cluster.local")
    )
    assert (phase, log.split()) == ("Succeeded", ["10.96.0.1"])
    # No forwarding to the machine's resolver: an outside name does not resolve at all.
    phase, log = run_to_end(core, namespace, pod("dns-outside", "dns", "example.com"))
    assert phase == "Failed" and "UnknownHostException" in log, log


def test_a_pod_reaches_another_through_a_cluster_ip_service(
    node: Context, core: client.CoreV1Api, namespace: str
) -> None:
    server = pod("echo", "serve", "8080", labels={"app": "echo"},
                 readinessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1})  # fmt: skip
    server["spec"]["restartPolicy"] = "Always"
    core.create_namespaced_pod(namespace, server)
    core.create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
        "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": 8080}]}})  # fmt: skip
    wait_for("echo ready", lambda: _ready(core, namespace, "echo"), timeout=120)
    phase, log = run_to_end(core, namespace,
                            pod("client", "get", f"echo.{namespace}.svc.cluster.local", "80"))  # fmt: skip
    assert phase == "Succeeded", log
    assert "probe echo" in log
    # `kubectl exec` reaches the container through the apiserver and the kubelet.
    done = subprocess.run(
        [str(kube_bin(node, "kubectl")), "--kubeconfig", str(kubeconfig(node)), "-n", namespace,
         "exec", "echo", "--", "java", "-Xshare:off", "-version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "openjdk version" in done.stderr, done.stderr


def _ready(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    statuses = core.read_namespaced_pod(name, namespace).status.container_statuses or []
    return bool(statuses) and all(s.ready for s in statuses)


def test_a_pod_reaches_the_apiserver_through_the_kubernetes_service(
    core: client.CoreV1Api, namespace: str
) -> None:
    phase, log = run_to_end(core, namespace, pod("apiserver", "connect", "10.96.0.1", "443"))
    assert (phase, log.strip()) == ("Succeeded", "connected"), log


def test_pod_traffic_to_the_outside_is_refused_at_once_and_counted(
    core: client.CoreV1Api, namespace: str
) -> None:
    before = counter(POD_EGRESS_COUNTER)
    phase, log = run_to_end(core, namespace, pod("egress", "connect", OUTSIDE, "443"))
    # Refused (the fence answers with a reset), not timed out (a silent drop would take 20 s).
    assert phase == "Failed" and "Connection refused" in log, log
    assert counter(POD_EGRESS_COUNTER) > before


def test_host_traffic_to_fake_pod_addresses_never_leaves_the_machine(node: Context) -> None:
    """kube-proxy sends Services with KWOK endpoints to 10.244.x.x: that fails at once, either
    at the route that makes KWOK's range unreachable or at the fence, which counts it."""
    before = counter(HOST_LEAK_COUNTER)
    kwok_address = KWOK_CIDR.replace("0.0/16", "255.254")
    routed = subprocess.run(["ip", "route", "get", kwok_address], capture_output=True, text=True,
                            check=False)  # fmt: skip
    with socket.socket() as sock, pytest.raises(OSError) as failed:
        sock.settimeout(20)
        sock.connect((kwok_address, 80))
    assert failed.value.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH), failed.value
    if routed.returncode == 0:  # a route exists: the fence is what stopped the packet
        assert counter(HOST_LEAK_COUNTER) > before


NODE_PARTS = ("node-network", "node-relay", "node-access", "containerd", "coredns", "kubelet",
              "kube-proxy")  # fmt: skip


def test_status_lists_the_node_parts_ready_with_their_memory(node: Context) -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "devstack"), "status", "--json"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    rows = {row["name"]: row for row in json.loads(done.stdout)["components"]}
    for part in NODE_PARTS:
        assert rows[part]["ready"] is True, rows[part]
    for daemon in ("node-relay", "containerd", "coredns", "kubelet", "kube-proxy"):
        assert isinstance(rows[daemon]["rss_kib"], int) and rows[daemon]["rss_kib"] > 0


def test_a_second_up_changes_nothing(node: Context) -> None:
    said: list[str] = []
    up(node, ["kube-proxy"], echo=said.append)
    states = {line.split()[0]: line.split()[1] for line in said}
    assert {states[p] for p in NODE_PARTS} <= {"running", "ready"}, said
