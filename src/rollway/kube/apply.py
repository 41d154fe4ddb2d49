"""Server-side apply of rendered objects into one namespace, as field manager `rollway`.

Everything is checked before anything changes: each object's kind must be served by the
cluster and namespaced, and a dry run of every object must pass the API server's validation.
Only then are the objects applied, in the order the chart rendered them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound, RollwayError
from .client import api_error, load_api

if TYPE_CHECKING:
    from kubernetes.client import ApiClient
    from kubernetes.dynamic import Resource

FIELD_MANAGER = "rollway"
#: The selector key Argo Rollouts adds to a blue-green or canary Service to pin it to one revision.
ROLLOUTS_HASH = "rollouts-pod-template-hash"
Manifest = dict[str, Any]
TYPED_PATCH_FAILURE = "failed to create typed patch object"


@dataclasses.dataclass(frozen=True)
class Target:
    """One object to apply, with the API resource serving its kind."""

    manifest: Manifest
    resource: Resource

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.manifest["metadata"]["namespace"])

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


class Applier:
    """The cluster side of apply and diff, over the kubernetes dynamic client."""

    def __init__(self, api: ApiClient | None = None) -> None:
        from kubernetes import dynamic

        self.api = api if api is not None else load_api()
        with _errors("API discovery"):
            self.client = dynamic.DynamicClient(self.api)

    def plan(self, manifests: Iterable[Manifest], namespace: str) -> list[Target]:
        """Targets in `namespace`; refuses kinds the cluster lacks, cluster-scoped objects and
        objects naming another namespace."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        targets = []
        for index, manifest in enumerate(manifests, 1):
            what = _describe(manifest, index)
            api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
            metadata = manifest.get("metadata")
            if not api_version or not kind or not isinstance(metadata, dict):
                raise InvalidInput(f"{what} has no apiVersion, kind or metadata", field="manifests")
            if not metadata.get("name"):
                raise InvalidInput(f"{what} has no metadata.name", field="manifests")
            try:
                with _errors(f"discovery of {kind} ({api_version})"):
                    resource = self.client.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                raise InvalidInput(
                    f"{what}: the cluster serves no {kind} in {api_version} (is its CRD installed?)",
                    field="manifests",
                ) from None
            if not resource.namespaced:
                raise InvalidInput(
                    f"{what} is cluster-scoped; Rollway applies only into the target namespace",
                    field="manifests",
                )
            declared = metadata.get("namespace")
            if declared and declared != namespace:
                raise InvalidInput(
                    f"{what} names namespace {declared!r}, not the target {namespace!r}",
                    field="manifests",
                )
            placed = {**manifest, "metadata": {**metadata, "namespace": namespace}}
            targets.append(Target(placed, resource))
        return targets

    def namespace_exists(self, namespace: str) -> bool:
        return self.live_namespace(namespace) is not None

    def live_namespace(self, namespace: str) -> Manifest | None:
        resource = self.client.resources.get(api_version="v1", kind="Namespace")
        return self._get(resource, namespace, None, f"namespace {namespace!r}")

    def create_namespace(self, namespace: str) -> None:
        resource = self.client.resources.get(api_version="v1", kind="Namespace")
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        with _errors(f"namespace {namespace!r}"):
            resource.server_side_apply(body=body, field_manager=FIELD_MANAGER, force_conflicts=True)

    def delete_namespace(self, namespace: str) -> None:
        resource = self.client.resources.get(api_version="v1", kind="Namespace")
        with _errors(f"namespace {namespace!r}"):
            resource.delete(name=namespace)

    def apply(self, target: Target, *, dry_run: bool = False) -> Manifest:
        """Server-side apply (force: Rollway owns what it renders); returns the stored object."""
        body = target.manifest
        if target.kind == "Service":
            body = keep_rollouts_selector(body, self.live(target))
        with _errors(f"{target} in namespace {target.namespace!r}"):
            result = target.resource.server_side_apply(
                body=body,
                namespace=target.namespace,
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
                dry_run="All" if dry_run else None,
            )
        applied: Manifest = result.to_dict()
        return applied

    def live(self, target: Target) -> Manifest | None:
        """The object as stored now, None when it does not exist."""
        what = f"{target} in namespace {target.namespace!r}"
        return self._get(target.resource, target.name, target.namespace, what)

    @staticmethod
    def _get(resource: Resource, name: str, namespace: str | None, what: str) -> Manifest | None:
        try:
            with _errors(what):
                found = resource.get(name=name, namespace=namespace)
        except NotFound:
            return None
        live: Manifest = found.to_dict()
        return live


def keep_rollouts_selector(service: Manifest, live: Manifest | None) -> Manifest:
    """`service` with the live selector's rollouts-pod-template-hash, when the controller set one.

    A Service's selector is an atomic map, so applying the chart's selector would drop the key
    the Rollouts controller added, sending traffic to every revision's pods, and a blue-green
    Rollout whose active Service lacks it skips the pause for promotion. Client-side apply keeps
    the key (it was never in the last applied configuration); this keeps it the same way. The
    controller re-pins the selector on its next sync anyway.
    """
    pinned = ((live or {}).get("spec") or {}).get("selector") or {}
    selector = (service.get("spec") or {}).get("selector")
    if ROLLOUTS_HASH not in pinned or not isinstance(selector, dict) or ROLLOUTS_HASH in selector:
        return service
    spec = {**service["spec"], "selector": {**selector, ROLLOUTS_HASH: pinned[ROLLOUTS_HASH]}}
    return {**service, "spec": spec}


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Client failures as Rollway errors; a 422 (invalid object) is the input's fault."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except (ApiException, HTTPError) as exc:
        raise _translate(exc, what) from None


def _translate(exc: Exception, what: str) -> RollwayError:
    """`api_error`, except that an invalid object is the input's fault, not worth a retry.

    That is a 400 or 422, and the 500 server-side apply answers when a field has the wrong type
    for the schema ("failed to create typed patch object …: expected numeric, got string").
    """
    status = getattr(exc, "status", None)
    reason = exc.summary() if hasattr(exc, "summary") else str(exc)
    if status in (400, 422) or (status == 500 and TYPED_PATCH_FAILURE in reason):
        return InvalidInput(f"{what}: the API server refuses it: {reason}", field="manifests")
    return api_error(exc, what)


def _describe(manifest: Manifest, index: int) -> str:
    kind = manifest.get("kind") or "object"
    name = (manifest.get("metadata") or {}).get("name") if isinstance(manifest, dict) else None
    return f"{kind}/{name}" if name else f"{kind} #{index}"
