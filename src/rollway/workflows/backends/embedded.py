"""The embedded backend: the engine in this process, reading the rendered templates from disk."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from ...errors import InvalidInput, NotFound
from ..engine import Engine, WorkflowSpec, parse
from .base import NodeStatus, WorkflowStatus

#: The repository's rendered templates; installs point ROLLWAY_TEMPLATES_DIR elsewhere.
DEFAULT_TEMPLATES = Path(__file__).resolve().parents[4] / "workflow-templates"


class KubernetesSecrets:
    """Reads secretKeyRef / configMapKeyRef from the cluster, as the kubelet would for a pod."""

    def __init__(self, namespace: str, kubeconfig: str | None = None) -> None:
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=kubeconfig) if kubeconfig else None
        if api is None:
            config.load_config()
            api = client.ApiClient()
        self.core = client.CoreV1Api(api)
        self.namespace = namespace

    def secret(self, name: str, key: str) -> str:
        import base64

        data = self._read(self.core.read_namespaced_secret, "Secret", name).data or {}
        return base64.b64decode(self._key(data, "Secret", name, key)).decode()

    def config_map(self, name: str, key: str) -> str:
        data = self._read(self.core.read_namespaced_config_map, "ConfigMap", name).data or {}
        return str(self._key(data, "ConfigMap", name, key))

    def _read(self, reader: Any, kind: str, name: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return reader(name, self.namespace)
        except ApiException as err:
            if err.status == 404:
                raise NotFound(f"{kind} {self.namespace}/{name} not found") from None
            raise

    def _key(self, data: Mapping[str, str], kind: str, name: str, key: str) -> str:
        if key not in data:
            raise NotFound(f"{kind} {self.namespace}/{name} has no key {key!r}")
        return data[key]


class EmbeddedBackend:
    def __init__(
        self,
        state_dir: str | Path,
        templates_dir: str | Path | None = None,
        namespace: str = "rollway",
        kubeconfig: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env` is what step processes inherit (default: this process's environment)."""
        self.templates_dir = Path(templates_dir or DEFAULT_TEMPLATES)
        self.engine = Engine(
            Path(state_dir),
            namespace=namespace,
            secrets=KubernetesSecrets(namespace, kubeconfig),
            base_env=env,
        )

    def template(self, name: str) -> WorkflowSpec:
        path = self.templates_dir / f"{name}.yaml"
        if "/" in name or not path.is_file():
            raise InvalidInput(f"unknown workflow template {name!r}", field="template")
        return parse(yaml.safe_load(path.read_text()))

    def submit(
        self, template: str, parameters: Mapping[str, str], *, labels: Mapping[str, str], name: str
    ) -> WorkflowStatus:
        return _status(
            self.engine.submit(self.template(template), parameters, name=name, labels=labels)
        )

    def get(self, name: str) -> WorkflowStatus:
        return _status(self.engine.get(name))

    def list(self, labels: Mapping[str, str]) -> list[WorkflowStatus]:
        return [_status(wf) for wf in self.engine.list(labels)]

    def resume(self, name: str, node_field_selector: str) -> None:
        self.engine.resume(name, node_field_selector)

    def stop(self, name: str, node_field_selector: str = "") -> None:
        self.engine.stop(name)

    def terminate(self, name: str) -> None:
        self.engine.terminate(name)

    def retry(self, name: str) -> None:
        self.engine.retry(name)

    def watch(self, name: str, timeout: float | None = None) -> Iterator[WorkflowStatus]:
        return (_status(wf) for wf in self.engine.watch(name, timeout))

    def logs(self, name: str, node: str | None = None, follow: bool = False) -> Iterator[str]:
        return self.engine.logs(name, node, follow)


def _status(wf: Mapping[str, Any]) -> WorkflowStatus:
    nodes = tuple(
        NodeStatus(
            id=n["id"],
            name=n["name"],
            type=n["type"],
            phase=n["phase"],
            template=n["template"],
            started_at=n.get("startedAt"),
            finished_at=n.get("finishedAt"),
            message=n.get("message", ""),
            outputs=dict(n.get("outputs", {})),
            retries=n.get("retries", 0),
        )
        for n in sorted(wf["nodes"].values(), key=lambda n: (n.get("startedAt") or "~", n["id"]))
    )
    return WorkflowStatus(
        name=wf["name"],
        namespace=wf["namespace"],
        template=wf["template"],
        phase=wf["phase"],
        labels=dict(wf["labels"]),
        parameters=dict(wf["parameters"]),
        started_at=wf.get("startedAt"),
        finished_at=wf.get("finishedAt"),
        message=wf.get("message", ""),
        nodes=nodes,
    )
