"""charts/rollway rendered as an operator installs it, for the tests of what it creates."""

from __future__ import annotations

from typing import Any

import yaml

from .conftest import HelmChart, Rendered

RELEASE = "rollway"
NAMESPACE = "rollway-system"


def render(
    chart: HelmChart, values: dict[str, Any] | None = None, namespace: str = NAMESPACE
) -> Rendered:
    proc = chart.run("template", RELEASE, "--namespace", namespace, values=values)
    assert proc.returncode == 0, proc.stderr
    return Rendered(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


def container(objects: Rendered) -> dict[str, Any]:
    """The API server's container."""
    (only,) = objects.one("Deployment", "rollway-apiserver")["spec"]["template"]["spec"][
        "containers"
    ]
    return only
