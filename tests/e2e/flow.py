"""What the end-to-end tests observe: `app status -o json`, the cluster as the Kubernetes API
shows it (Rollouts, ReplicaSets, pods, Services, Argo Workflows, and a live watch of the
Services), the API as another user calls it, and the controller's canary arithmetic to check the
cluster against."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import httpx
from keycloak import KeycloakOpenID

from tests.support.cli import Cli, status
from tests.support.helpers import wait_for
from tests.support.projects import admitted, allow

HELLO = "com.example:hello"
HASH = "rollouts-pod-template-hash"
ROLLOUTS = ("argoproj.io", "v1alpha1", "rollouts")
WORKFLOWS = ("argoproj.io", "v1alpha1", "workflows")
TASK_RESULTS = ("argoproj.io", "v1alpha1", "workflowtaskresults")
OUTPUTS_COMPLETE = "workflows.argoproj.io/report-outputs-completed"
#: The Keycloak client the pipeline's exit handler calls the API server back as.
CALLBACK_CLIENT = "rollway-ci"
#: The arguments of an environment whose policy requires approval.
PROD = ("--env", "prod")


@dataclasses.dataclass(frozen=True)
class Engine:
    """Where a test's deployments run: `login("alice")` gives `app` against that API server,
    `api` calls it directly, and `chart_repo` is the chart's git repository as its pipeline's
    steps reach it (host processes on loopback, pods on the node bridge)."""

    name: str
    login: Callable[[str], Cli]
    api: Api
    chart_repo: str

    @property
    def chart(self) -> str:
        """The chart as `app deploy --chart` takes it."""
        return f"{self.chart_repo}//charts/app@main"


# -- the CLI ------------------------------------------------------------------------------------


def reaches(
    cli: Cli, app: str, check: Callable[[dict[str, Any]], bool], what: str, *args: str
) -> dict[str, Any]:
    """Poll `app status -o json` until `check` holds; the last status it saw."""

    def seen() -> dict[str, Any]:
        found = status(cli, app, *args)
        return found if check(found) else {}

    return wait_for(f"{app}: {what}", seen, timeout=180, interval=0.5)


def settled(state: str, phase: str) -> Callable[[dict[str, Any]], bool]:
    """The deployment's state and the Rollout's phase are both as given."""
    return lambda s: s["deployment"]["state"] == state and s["rollout"]["phase"] == phase


def deployment_id(cli: Cli, app: str, *args: str) -> str:
    return str(status(cli, app, *args)["deployment"]["id"])


def at_gate(cli: Cli, app: str, *args: str) -> str:
    """The id of the deployment waiting at its approval gate, the Rollout Paused."""
    found = status(cli, app, *args)
    assert (found["deployment"]["state"], found["rollout"]["phase"]) == ("waiting", "Paused")
    gate = {s["name"]: s["phase"] for s in found["deployment"]["steps"]}
    assert gate["approval"] == "Running" and gate.get("promote") in (None, "Pending")
    return str(found["deployment"]["id"])


def error_line(stderr: str) -> str:
    """The one `error:` line of a command whose stderr also carries progress (`--wait`)."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


# -- the cluster --------------------------------------------------------------------------------


class Kube:
    """Reads of the devstack cluster through the Kubernetes API (raw JSON, as kubectl shows it)."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=kubeconfig)
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    def rollout(self, namespace: str, name: str) -> dict[str, Any]:
        found = self.custom.get_namespaced_custom_object(*ROLLOUTS[:2], namespace, ROLLOUTS[2],
                                                         name)  # fmt: skip
        return cast(dict[str, Any], found)

    def rollouts(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's Rollouts; none when the namespace does not exist either."""
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.custom.list_namespaced_custom_object(*ROLLOUTS[:2], namespace,
                                                              ROLLOUTS[2])  # fmt: skip
        except ApiException as err:
            if err.status == 404:
                return []
            raise
        return list(cast(dict[str, Any], found)["items"])

    def workflow(self, namespace: str, deployment_id: str) -> dict[str, Any]:
        """The Argo Workflow a deployment's pipeline runs in (labelled with the deployment)."""
        found = self.custom.list_namespaced_custom_object(
            *WORKFLOWS[:2], namespace, WORKFLOWS[2],
            label_selector=f"rollway.io/deployment-id={deployment_id}",
        )  # fmt: skip
        items = cast(dict[str, Any], found)["items"]
        assert len(items) == 1, [w["metadata"]["name"] for w in items]
        return dict(items[0])

    def step_pods(self, namespace: str, workflow: str) -> dict[str, dict[str, Any]]:
        """A workflow's step pods by the id of the node each ran."""
        found = self._json(self.core.list_namespaced_pod, namespace,
                           label_selector=f"workflows.argoproj.io/workflow={workflow}")  # fmt: skip
        return {p["metadata"]["annotations"]["workflows.argoproj.io/node-id"]: p
                for p in found["items"]}  # fmt: skip

    def published(self, namespace: str, node_id: str) -> dict[str, str]:
        """The output parameters a step's pod published (Argo's WorkflowTaskResult, named after
        its node), once complete; none before."""
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.custom.get_namespaced_custom_object(*TASK_RESULTS[:2], namespace,
                                                             TASK_RESULTS[2], node_id)  # fmt: skip
        except ApiException as err:
            if err.status == 404:
                return {}
            raise
        result = cast(dict[str, Any], found)
        if result["metadata"].get("labels", {}).get(OUTPUTS_COMPLETE) != "true":
            return {}
        parameters = (result.get("outputs") or {}).get("parameters") or []
        return {p["name"]: p.get("value", "") for p in parameters}

    def service(self, namespace: str, name: str) -> dict[str, Any]:
        return self._json(self.core.read_namespaced_service, name, namespace)

    def selector_hash(self, namespace: str, service: str) -> str:
        return str(self.service(namespace, service)["spec"]["selector"].get(HASH, ""))

    def services(self, namespace: str) -> dict[str, dict[str, Any]]:
        items = self._json(self.core.list_namespaced_service, namespace)["items"]
        return {s["metadata"]["name"]: s for s in items}

    def replicasets(self, namespace: str) -> dict[str, dict[str, Any]]:
        """The namespace's ReplicaSets by pod-template hash."""
        items = self._json(self.apps.list_namespaced_replica_set, namespace)["items"]
        return {rs["metadata"]["labels"][HASH]: rs for rs in items}

    def pods(self, namespace: str, pod_hash: str) -> list[dict[str, Any]]:
        found = self._json(self.core.list_namespaced_pod, namespace,
                           label_selector=f"{HASH}={pod_hash}")  # fmt: skip
        return [p for p in found["items"] if not p["metadata"].get("deletionTimestamp")]

    def ready_pods(self, namespace: str, pod_hash: str) -> list[dict[str, Any]]:
        return [p for p in self.pods(namespace, pod_hash) if _ready(p)]

    def replicas(self, namespace: str, pod_hash: str) -> tuple[int, int]:
        """(spec.replicas, ready pods) of the ReplicaSet of a pod-template hash."""
        rs = self.replicasets(namespace).get(pod_hash)
        if rs is None:
            return (0, 0)
        return int(rs["spec"]["replicas"]), len(self.ready_pods(namespace, pod_hash))

    @staticmethod
    def _json(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        response = call(*args, _preload_content=False, **kwargs)
        return dict(json.loads(response.data))


def reported_back(
    kube: Kube, api: Api, namespace: str, deployment_id: str, workflow_status: str
) -> dict[str, Any]:
    """The exit handler of the deployment's workflow (in `namespace`) ran in a pod and delivered
    the workflow's status to the API server: the outputs its report step published say
    `workflow_status`, delivered to `api`, and the server's audit log has that one call,
    answered 202, made as the pipeline's callback client from the report pod's node. The
    report pod is returned.

    The outputs are read from the node, or where the step published them (its
    WorkflowTaskResult) while the controller has not taken them in: Argo records a stopped
    workflow's end before its exit handler's pod is done, and leaves that node Pending."""

    def report() -> dict[str, Any]:
        nodes = (kube.workflow(namespace, deployment_id).get("status") or {}).get("nodes") or {}
        found = [n for n in nodes.values() if n["displayName"] == "report" and n["type"] == "Pod"]
        return found[0] if found else {}

    def published() -> dict[str, str]:
        recorded = (report().get("outputs") or {}).get("parameters")
        if recorded:  # the controller took them in (and removed the task result)
            return {p["name"]: p.get("value", "") for p in recorded}
        return kube.published(namespace, node["id"])

    node = wait_for(f"the exit handler of {deployment_id} to start", report, timeout=120)
    outputs = wait_for(f"the outputs of {deployment_id}'s report", published, timeout=180)
    assert outputs == {"status": workflow_status, "delivered": "api", "undelivered": ""}, outputs
    workflow = kube.workflow(namespace, deployment_id)["metadata"]["name"]
    pod = kube.step_pods(namespace, workflow)[node["id"]]
    answer = api.call("dave", "GET", "/audit", params={"limit": 500})  # the newest first
    assert answer.status_code == 200, answer.text
    calls = [e for e in answer.json()["items"]
             if e["action"] == "report_outcome" and e["target"] == deployment_id]  # fmt: skip
    assert [(e["actor"], e["method"], e["status"], e["outcome"]) for e in calls] == [
        (CALLBACK_CLIENT, "POST", 202, "success")
    ], calls
    # kube-proxy masquerades every Service connection (masqueradeAll): the node's address.
    assert calls[0]["source"] == pod["status"]["hostIP"], (calls, pod["status"])
    return pod


def settles(kube: Kube, namespace: str, name: str) -> str:
    """The phase a Rollout comes to rest in once the controller saw its latest spec: Healthy,
    or Paused for promotion (a rollback the controller does not fast-track, for one)."""

    def phase() -> str:
        rollout = kube.rollout(namespace, name)
        status = rollout.get("status") or {}
        current = status.get("observedGeneration") == str(rollout["metadata"]["generation"])
        found = str(status.get("phase"))
        return found if current and found in ("Healthy", "Paused") else ""

    return wait_for(f"{name} to settle", phase, timeout=120)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class ServiceWatch:
    """`kubectl get services --watch` in a namespace for the length of a `with` block: every
    version of every Service the API server sends, in order, with the pod hash it selects.

    The watch starts with the objects as they are, then one event per change, so a Service that
    points at another hash even for a moment shows up here, whenever the test looks."""

    def __init__(self, env: dict[str, str], namespace: str) -> None:
        self.env, self.namespace = env, namespace
        self.events: list[tuple[str, str, str]] = []  # (event type, service, selected hash)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> ServiceWatch:
        self._process = subprocess.Popen(
            ["kubectl", "get", "services", "-n", self.namespace, "--watch",
             "--output-watch-events", "-o", "json"],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        assert self._process is not None and self._reader is not None
        ended = self._process.poll()  # a watch that stopped early would have missed changes
        self._process.terminate()
        self._process.wait(timeout=30)
        self._reader.join(timeout=30)
        if ended is not None and kind is None:
            stderr = self._process.stderr.read() if self._process.stderr else ""
            raise AssertionError(f"the watch ended before the block did ({ended}): {stderr}")

    def _read(self) -> None:
        """kubectl prints one JSON document per event ({"type": …, "object": …})."""
        assert self._process is not None and self._process.stdout is not None
        decoder, buffer = json.JSONDecoder(), ""
        for line in self._process.stdout:
            buffer += line
            while buffer.strip():
                try:
                    event, end = decoder.raw_decode(buffer.lstrip())
                except json.JSONDecodeError:
                    break  # the rest of the document is still on its way
                buffer = buffer.lstrip()[end:]
                service = event["object"]
                selected = (service["spec"].get("selector") or {}).get(HASH, "")
                with self._lock:
                    self.events.append((event["type"], service["metadata"]["name"], selected))

    def hashes(self, service: str) -> list[str]:
        """The hashes the Service selected, in order, repeats of the same one collapsed."""
        with self._lock:
            seen = [h for _, name, h in self.events if name == service]
        return [h for i, h in enumerate(seen) if i == 0 or seen[i - 1] != h]

    def observations(self, service: str) -> int:
        with self._lock:
            return sum(1 for _, name, _ in self.events if name == service)

    def wait_until(self, what: str, check: Callable[[], bool]) -> None:
        assert self._process is not None

        def live() -> bool:
            if self._process is not None and self._process.poll() is not None:
                stderr = self._process.stderr.read() if self._process.stderr else ""
                raise AssertionError(f"kubectl watch exited: {stderr}")
            return check()

        wait_for(f"the Service watch to see {what}", live, timeout=60, interval=0.1)


# -- the controller's canary arithmetic ---------------------------------------------------------


def scaled(value: int | str, total: int, *, round_up: bool) -> int:
    """An int-or-percent of `total`, as intstr.GetScaledValueFromIntOrPercent computes it."""
    if isinstance(value, int):
        return value
    share = int(value.rstrip("%")) * total / 100
    return math.ceil(share) if round_up else math.floor(share)


def canary_split(
    replicas: int, weight: int, max_surge: int, max_weight: int = 100
) -> tuple[int, int]:
    """(canary, stable) replicas for a setWeight step without traffic routing: a line-by-line
    port of approximateWeightedCanaryStableReplicaCounts in Argo Rollouts v1.10
    (utils/replicaset/canary.go), which picks the counts closest to the weight, surging by one
    pod when that is closer."""
    if replicas == 0:
        return 0, 0

    def tied(total: int) -> bool:
        return math.modf(total * (weight / max_weight))[0] == 0.5

    def delta(canary: int, total: int) -> float:
        return abs(canary * max_weight / total - weight)

    ceil_count = math.ceil(replicas * weight / max_weight)
    floor_count = math.floor(replicas * weight / max_weight)
    zero_allowed = weight in (max_weight, 0) or (replicas == 1 and max_surge == 0)
    options: list[tuple[int, int]] = []
    if ceil_count < replicas or zero_allowed:
        options.append((ceil_count, replicas))
    if not tied(replicas) and (floor_count != 0 or zero_allowed):
        options.append((floor_count, replicas))
    if max_surge > 0:
        options.append((ceil_count, replicas + 1))
        if not tied(replicas + 1) and (floor_count != 0 or zero_allowed):
            options.append((floor_count, replicas + 1))
    if not options:
        return 0, replicas
    best = options[0]
    for option in options[1:]:
        if delta(*option) < delta(*best):
            best = option
    return best[0], best[1] - best[0]


# -- the API as a user, and the artifacts as their stores hold them ------------------------------


class Api:
    """The API server called directly as a realm user (for what the CLI has no command for)."""

    def __init__(self, env: dict[str, str], url: str) -> None:
        self.env, self.url = env, url
        self.keycloak = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"],
                                       realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
                                       client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip
        self._tokens: dict[str, tuple[str, float]] = {}

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token, expires = self._tokens.get(user, ("", 0.0))
        if time.monotonic() > expires - 60:
            answer = self.keycloak.token(user, self.env["DEVSTACK_USER_PASSWORD"])
            token, expires = answer["access_token"], time.monotonic() + answer["expires_in"]
            self._tokens[user] = (token, expires)
        return httpx.request(method, f"{self.url}/api/v1{path}", timeout=30,
                             headers={"Authorization": f"Bearer {token}"}, **kwargs)  # fmt: skip

    def register(self, user: str, spec: dict[str, Any], project: str = "hello") -> dict[str, Any]:
        """Register `spec` in `project`, whose guardrails the platform admin first opens to the
        app's namespaces, as an operator would."""
        answer = self.call(user, "POST", "/apps", json=admitted(self._absolute, spec, project))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def admit(self, app: str, *envs: str, project: str = "hello") -> None:
        """Open `project`'s guardrails to the app's namespaces before `app deploy` registers it
        there (the namespaces default to `<app>-<env>`)."""
        allow(self._absolute, project, namespaces=[f"{app}-{env}" for env in envs])

    def _absolute(self, user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """`call` with the path as tests.support.projects gives it (`/api/v1/…`)."""
        return self.call(user, method, path.removeprefix("/api/v1"), **kwargs)

    def register_gated(
        self, name: str, chart_repo: str, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A blue-green app in `dev` and in `prod`, whose policy requires approval; as dave
        (admin), through the API: the CLI has no flags for environment policies."""
        return self.register("dave", {
            "name": name,
            "environments": [{"name": "dev"},
                             {"name": "prod", "policy": {"approvalRequired": True}}],
            "chart": {"repo": chart_repo, "path": "charts/app", "ref": "main"},
            "artifact": HELLO,
            "strategy": "bluegreen",
            **({"parameters": {"values": values}} if values else {}),
        })  # fmt: skip


def jar_sha256(env: dict[str, str], coordinates: str) -> str:
    """SHA-256 of the jar as the Maven repository serves it (not as Rollway reports it)."""
    group, artifact, version = coordinates.split(":")
    url = (f"{env['ROLLWAY_MAVEN_URL']}/{group.replace('.', '/')}/{artifact}/{version}/"
           f"{artifact}-{version}.jar")  # fmt: skip
    digest = hashlib.sha256()
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    with httpx.stream("GET", url, auth=auth, timeout=60) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_digest(env: dict[str, str], image: str) -> str:
    """The digest the registry answers for `repository@digest` (HEAD of the manifest)."""
    repository, _, reference = image.partition("@")
    name = repository.split("/", 1)[1]
    accept = ", ".join([
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ])  # fmt: skip
    answer = httpx.head(
        f"{env['ROLLWAY_REGISTRY_URL']}/v2/{name}/manifests/{reference}",
        auth=(env["ROLLWAY_REGISTRY_USERNAME"], env["ROLLWAY_REGISTRY_PASSWORD"]),
        headers={"Accept": accept},
        timeout=30,
    )
    assert answer.status_code == 200, f"{image}: {answer.status_code}"
    return answer.headers["Docker-Content-Digest"]
