"""The platform as the pipeline's steps see it: the ConfigMap `rollway-platform` (addresses pods
use). An API server must name the same registry, or its builds are refused: the registry
credentials go only there."""

from __future__ import annotations

import json
import subprocess


def platform_config(env: dict[str, str], namespace: str = "rollway") -> dict[str, str]:
    """The ConfigMap `rollway-platform` of a namespace: the addresses its pipeline's steps use."""
    found = subprocess.run(
        ["kubectl", "-n", namespace, "get", "configmap", "rollway-platform", "-o", "json"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(json.loads(found)["data"])


def platform_registry(env: dict[str, str]) -> dict[str, str]:
    """ROLLWAY_REGISTRY, ROLLWAY_REGISTRY_URL and ROLLWAY_BASE_IMAGE as the ConfigMap gives them."""
    data = platform_config(env)
    return {
        "ROLLWAY_REGISTRY": data["registry"],
        "ROLLWAY_REGISTRY_URL": data.get("registry-url") or env["ROLLWAY_REGISTRY_URL"],
        "ROLLWAY_BASE_IMAGE": data["base-image"],
    }
