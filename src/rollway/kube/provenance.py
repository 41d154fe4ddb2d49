"""Provenance Rollway stamps on every object it applies, and on the pods they make.

A running pod's annotations then name the jar (coordinates and SHA-256), the image digest and
the chart commit it came from; the deployment-id label finds every object of one deployment.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from ..chart.git import repo_url
from ..errors import InvalidInput
from ..maven import Coordinates
from ..pipeline import ANNOTATIONS, LABEL_DEPLOYMENT
from ..validation import no_template

DEPLOYMENT_LABEL = LABEL_DEPLOYMENT
#: Kubernetes label values: ≤ 63 characters, alphanumerics at both ends, '-', '_', '.' inside.
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
COMMIT = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")
#: Kinds whose pods come from `spec.template`.
POD_TEMPLATE_KINDS = {"Rollout", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


@dataclasses.dataclass(frozen=True)
class Provenance:
    deployment_id: str
    artifact: str
    jar_sha256: str
    image_digest: str
    chart_repo: str
    chart_commit: str

    def __post_init__(self) -> None:
        """Each value is checked, naming its input, before anything reaches the cluster."""
        for field in dataclasses.fields(self):
            no_template(_option(field.name), getattr(self, field.name))
        if not LABEL_VALUE.match(self.deployment_id):
            raise InvalidInput(
                "must be a label value: at most 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit",
                field="deployment-id",
            )
        Coordinates.parse(self.artifact, field="artifact")
        _check(SHA256_HEX, self.jar_sha256, "jar-sha256", "64 lowercase hex digits")
        _check(IMAGE_DIGEST, self.image_digest, "image-digest", "sha256:<64 lowercase hex digits>")
        repo_url(self.chart_repo, field="chart-repo")
        _check(COMMIT, self.chart_commit, "chart-commit", "a full commit id (40 hex digits)")

    @property
    def labels(self) -> dict[str, str]:
        return {DEPLOYMENT_LABEL: self.deployment_id}

    @property
    def annotations(self) -> dict[str, str]:
        return {key: getattr(self, field) for field, key in ANNOTATIONS.items()}


def stamp(manifest: dict[str, Any], provenance: Provenance) -> dict[str, Any]:
    """A copy of `manifest` with the provenance on the object and on its pod template."""
    stamped = copy.deepcopy(manifest)
    targets = [stamped.setdefault("metadata", {})]
    template = (stamped.get("spec") or {}).get("template")
    if stamped.get("kind") in POD_TEMPLATE_KINDS and isinstance(template, dict):
        targets.append(template.setdefault("metadata", {}))
    for metadata in targets:
        metadata["labels"] = {**(metadata.get("labels") or {}), **provenance.labels}
        metadata["annotations"] = {**(metadata.get("annotations") or {}), **provenance.annotations}
    return stamped


def _check(pattern: re.Pattern[str], value: str, field: str, form: str) -> None:
    if not pattern.match(value):
        raise InvalidInput(f"{value!r} is not {form}", field=field)


def _option(name: str) -> str:
    return name.replace("_", "-")
