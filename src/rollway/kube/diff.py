"""What applying rendered objects would change, per object, as a unified diff of their YAML.

Like `kubectl diff`, the "after" side of an existing object is the API server's answer to a
server-side-apply dry run, so defaults, admission and fields other managers own (the Rollouts
controller's Service selectors) appear on both sides and only real changes remain. Fields the
server or the controllers write on their own, and Rollway's provenance stamps (new on every
deployment), are left out of the comparison.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .apply import Applier

from ..pipeline import ANNOTATIONS
from .provenance import DEPLOYMENT_LABEL

Manifest = dict[str, Any]
#: metadata the API server maintains.
SERVER_METADATA = (
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "generation",
    "managedFields",
    "resourceVersion",
    "selfLink",
    "uid",
)
#: Annotations that controllers and tools add to objects they act on, and Rollway's provenance.
IGNORED = {
    "labels": frozenset({DEPLOYMENT_LABEL}),
    "annotations": frozenset(
        {
            "argo-rollouts.argoproj.io/managed-by-rollouts",
            "deployment.kubernetes.io/revision",
            "kubectl.kubernetes.io/last-applied-configuration",
            "rollout.argoproj.io/revision",
            "rollout.argoproj.io/workload-generation",
            *ANNOTATIONS.values(),
        }
    ),
}


@dataclasses.dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # "created", "changed" or "unchanged"
    diff: str  # unified diff of the normalised YAML; empty when unchanged


def normalize(obj: Manifest) -> Manifest:
    """The object without status, server-maintained metadata, controller annotations and
    Rollway's provenance, on the object and on its pod template."""
    clean = copy.deepcopy(obj)
    clean.pop("status", None)
    metadata = clean.get("metadata") or {}
    for key in SERVER_METADATA:
        metadata.pop(key, None)
    _strip(metadata)
    spec = clean.get("spec") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    for template in (spec.get("template"), job_spec.get("template")):
        if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
            template_metadata = template["metadata"]
            if template_metadata.get("creationTimestamp") is None:
                template_metadata.pop("creationTimestamp", None)
            _strip(template_metadata)
    return clean


def _strip(metadata: dict[str, Any]) -> None:
    for key, ignored in IGNORED.items():
        kept = {k: v for k, v in (metadata.get(key) or {}).items() if k not in ignored}
        if kept:
            metadata[key] = kept
        else:
            metadata.pop(key, None)


def to_yaml(obj: Manifest) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def compare(kind: str, name: str, live: Manifest | None, desired: Manifest) -> Change:
    """The change from `live` (None: absent) to `desired`, both normalised first."""
    after = normalize(desired)
    before = normalize(live) if live is not None else None
    if before == after:
        return Change(kind, name, "unchanged", "")
    lines = difflib.unified_diff(
        to_yaml(before).splitlines(keepends=True) if before is not None else [],
        to_yaml(after).splitlines(keepends=True),
        fromfile=f"live/{kind}/{name}",
        tofile=f"rendered/{kind}/{name}",
    )
    return Change(kind, name, "created" if live is None else "changed", "".join(lines))


def live_changes(applier: Applier, manifests: Iterable[Manifest], namespace: str) -> list[Change]:
    """Each rendered object compared with the cluster (nothing is changed: dry runs only)."""
    targets = applier.plan(manifests, namespace)
    exists = applier.namespace_exists(namespace)
    changes = []
    for target in targets:
        live = applier.live(target) if exists else None
        desired = applier.apply(target, dry_run=True) if live is not None else target.manifest
        changes.append(compare(target.kind, target.name, live, desired))
    return changes


def summary(changes: Iterable[Change]) -> dict[str, list[str]]:
    """`{"created": ["Service/orders", …], "changed": […], "unchanged": […]}`."""
    grouped: dict[str, list[str]] = {"created": [], "changed": [], "unchanged": []}
    for change in changes:
        grouped[change.action].append(f"{change.kind}/{change.name}")
    return grouped
