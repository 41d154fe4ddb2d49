"""What an approval binds to: one digest of the exact plan a deployment will ship.

The plan is the jar's SHA-256, the image digest, the chart commit, the SHA-256 of the rendered
manifests, and the workflow's parameters (strategy, values, replicas, namespace, chart…), as
the steps published them. The API server computes the digest here, from the workflow the engine
reports, and an approval counts only for the digest it was given for; `apply` checks that the
manifests it applies are the ones whose hash is in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from ..pipeline import BUILD_IMAGE, FETCH_CHART, RENDER, RESOLVE_ARTIFACT

#: Part of the plan → (step, output) that publishes it.
PLAN_OUTPUTS = {
    "jar-sha256": (RESOLVE_ARTIFACT, "sha256"),
    "image-digest": (BUILD_IMAGE, "digest"),
    "chart-commit": (FETCH_CHART, "commit"),
    "manifests-sha256": (RENDER, "manifests-sha256"),
}
#: Parameters that name the run or the gate rather than what it ships.
UNBOUND = frozenset({"deployment-id", "approval-required", "first-release"})


def plan_digest(parameters: Mapping[str, str], outputs: Mapping[str, str | None]) -> str | None:
    """sha256 hex of the plan; None until every part of it is known (the gate is not reached)."""
    if any(not outputs.get(part) for part in PLAN_OUTPUTS):
        return None
    plan = {
        "outputs": {part: outputs[part] for part in PLAN_OUTPUTS},
        "parameters": {k: v for k, v in parameters.items() if k not in UNBOUND},
    }
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
