"""`RolloutsClient`: read and drive Rollouts with the API calls `kubectl argo rollouts` makes.

Every action reads the Rollout first, so a missing rollout or revision, or a promotion with
nothing to promote, is reported before anything is patched. `kubernetes` is imported lazily
(`rollway.kube.client` makes the ApiClient): importing `rollway.rollouts` stays cheap for the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from ..errors import InvalidInput
from ..kube.client import api_errors, load_api
from ..validation import dns_label
from . import patches
from .info import HASH_LABEL, ReplicaSetInfo, RolloutInfo, rollout_info
from .phase import Rollout

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "rollouts"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class RolloutsClient:
    """Argo Rollouts in one cluster: status, history and the plugin's actions."""

    def __init__(self, api: ApiClient | None = None) -> None:
        from kubernetes import client

        self.api = api if api is not None else load_api()
        self.custom = client.CustomObjectsApi(self.api)
        self._apps = client.AppsV1Api(self.api)
        self._core = client.CoreV1Api(self.api)

    # Reading

    def read(self, namespace: str, name: str) -> dict[str, Any]:
        """The Rollout object as stored."""
        check_names(namespace, name)
        with api_errors(_what(namespace, name)):
            ro = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        return cast(dict[str, Any], ro)

    def get(self, namespace: str, name: str) -> RolloutInfo:
        """What `kubectl argo rollouts get rollout` shows."""
        return self.info(self.read(namespace, name))

    def info(self, ro: Rollout) -> RolloutInfo:
        """The view of a Rollout already read, with its ReplicaSets and pods."""
        namespace = ro["metadata"]["namespace"]
        with api_errors(f"ReplicaSets and pods in namespace '{namespace}'"):
            replicasets = self._items(self._apps.list_namespaced_replica_set, namespace)
            pods = self._items(self._core.list_namespaced_pod, namespace)
        return rollout_info(ro, replicasets, pods)

    def history(self, namespace: str, name: str) -> tuple[ReplicaSetInfo, ...]:
        """The revisions still kept as ReplicaSets, newest first."""
        return self.get(namespace, name).replicasets

    # Actions

    def promote(self, namespace: str, name: str, *, full: bool = False) -> RolloutInfo:
        """`promote`: past the current pause or step; `full`: skip all steps and analysis."""
        promotion = patches.promotion(self.read(namespace, name), full=full)
        # Status subresource first, then spec, as the plugin does; at least one is set.
        sent = [
            self._patch(namespace, name, body, status=status)
            for body, status in ((promotion.status, True), (promotion.spec, False))
            if body is not None
        ]
        return self.info(sent[-1])

    def abort(self, namespace: str, name: str) -> RolloutInfo:
        """`abort`: back to the stable ReplicaSet; the spec keeps the new template."""
        patch = patches.abort(self.read(namespace, name))
        return self.info(self._patch(namespace, name, patch, status=True))

    def retry(self, namespace: str, name: str) -> RolloutInfo:
        """`retry rollout`: resume an aborted update."""
        patch = patches.retry(self.read(namespace, name))
        return self.info(self._patch(namespace, name, patch, status=True))

    def pause(self, namespace: str, name: str) -> RolloutInfo:
        """`pause`: set `spec.paused`."""
        self.read(namespace, name)
        return self.info(self._patch(namespace, name, patches.pause()))

    def resume(self, namespace: str, name: str) -> RolloutInfo:
        """Clear `spec.paused` (a pause by `pause`, not the controller's pause steps)."""
        self.read(namespace, name)
        return self.info(self._patch(namespace, name, patches.resume()))

    def restart(self, namespace: str, name: str, at: datetime | None = None) -> RolloutInfo:
        """`restart [--in]`: recreate the pods started before `at` (default: now)."""
        self.read(namespace, name)
        return self.info(self._patch(namespace, name, patches.restart(at)))

    def undo(
        self,
        namespace: str,
        name: str,
        revision: int | None = None,
        allow: Callable[[Mapping[str, Any], int], None] | None = None,
    ) -> tuple[RolloutInfo, int]:
        """`undo [--to-revision N]`: put back the pod template of a revision (default: previous).
        `allow` sees the template and its revision first, and raises to refuse it. Returns the
        Rollout as patched and the number of the revision put back."""
        if revision is not None and (isinstance(revision, bool) or revision < 1):
            raise InvalidInput("must be a revision number (1 or more)", field="revision")
        ro = self.read(namespace, name)
        with api_errors(f"ReplicaSets in namespace '{namespace}'"):
            replicasets = self._items(self._apps.list_namespaced_replica_set, namespace)
        patch, restored = patches.undo(ro, replicasets, revision)
        if allow is not None:
            allow(patch[0]["value"], restored)
        with api_errors(_what(namespace, name)):
            patched = self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, patch, _content_type=JSON_PATCH
            )
        return self.info(cast(dict[str, Any], patched)), restored

    # Helpers

    def _patch(
        self, namespace: str, name: str, body: dict[str, Any], *, status: bool = False
    ) -> dict[str, Any]:
        """A merge patch of the Rollout, or of its status subresource."""
        patch = (
            self.custom.patch_namespaced_custom_object_status
            if status
            else self.custom.patch_namespaced_custom_object
        )
        with api_errors(_what(namespace, name)):
            ro = patch(GROUP, VERSION, namespace, PLURAL, name, body, _content_type=MERGE_PATCH)
        return cast(dict[str, Any], ro)

    @staticmethod
    def _items(list_call: Callable[..., Any], namespace: str) -> list[dict[str, Any]]:
        """List as raw JSON: the info logic reads API objects as plain dicts."""
        response = list_call(namespace, label_selector=HASH_LABEL, _preload_content=False)
        items: list[dict[str, Any]] = json.loads(response.data)["items"]
        return items


def check_names(namespace: str, name: str) -> None:
    """Both must be DNS-1123 labels; the error names the field."""
    dns_label("namespace", namespace)
    dns_label("name", name)


def _what(namespace: str, name: str) -> str:
    return f"rollout '{name}' in namespace '{namespace}'"
