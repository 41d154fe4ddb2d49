"""The embedded backend: the engine in this process, reading the rendered templates from disk."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from ...errors import InvalidInput, NotFound
from ..engine import Engine, WorkflowSpec, parse
from .base import Cancel, NodeStatus, WorkflowStatus

#: The repository's rendered templates; installs point ROLLWAY_TEMPLATES_DIR elsewhere.
DEFAULT_TEMPLATES = Path(__file__).resolve().parents[4] / "workflow-templates"


class KubernetesSecrets:
    """Reads secretKeyRef / configMapKeyRef from the cluster, as the kubelet would for a pod."""

    def __init__(self, namespace: str, kubeconfig: str | None = None) -> None:
        self.namespace, self.kubeconfig = namespace, kubeconfig
        self._core: Any = None

    @property
    def core(self) -> Any:
        """The cluster is reached when a step first needs a value, not before."""
        if self._core is None:
            from kubernetes import client, config

            if self.kubeconfig:
                api = config.new_client_from_config(config_file=self.kubeconfig)
            else:
                config.load_config()
                api = client.ApiClient()
            self._core = client.CoreV1Api(api)
        return self._core

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
        image_env: Mapping[str, str] | None = None,
        service_account_kubeconfig: str | None = None,
    ) -> None:
        """Secrets and ConfigMaps are read with `kubeconfig` (as a kubelet reads them).

        Steps get what a pod gets: `image_env` (the image's ENV; default PATH, HOME and LANG
        of this machine), the template's env, and `KUBECONFIG=service_account_kubeconfig` in
        place of the service account token (default: `kubeconfig`, else $KUBECONFIG).
        """
        self.templates_dir = Path(templates_dir or DEFAULT_TEMPLATES)
        account = service_account_kubeconfig or kubeconfig or os.environ.get("KUBECONFIG")
        self.engine = Engine(
            Path(state_dir),
            namespace=namespace,
            secrets=KubernetesSecrets(namespace, kubeconfig),
            image_env=image_env,
            service_account_kubeconfig=account,
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

    def watch(
        self, name: str, timeout: float | None = None, cancel: Cancel | None = None
    ) -> Iterator[WorkflowStatus]:
        return (_status(wf) for wf in self.engine.watch(name, timeout, cancel))

    def logs(
        self, name: str, node: str | None = None, follow: bool = False, cancel: Cancel | None = None
    ) -> Iterator[str]:
        return self.engine.logs(name, node, follow, cancel)


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
