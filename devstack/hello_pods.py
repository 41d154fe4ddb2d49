"""The sample app `hello` on the real node without the pipeline: its jar, fetched from the
devstack's Maven repository, mounted from a ConfigMap into the devstack's JRE image, run with
`java -jar`, annotated so that Prometheus scrapes it. The canary tests and
bench/canary_judge.py build their Rollouts from it."""

from __future__ import annotations

from typing import Any

import httpx

from .base_image import AMD64_TAG, BASE_REPO
from .components.node import LABEL, LABEL_VALUE
from .components.registry import ADDR

IMAGE = f"{ADDR}/{BASE_REPO}:{AMD64_TAG}"
SCRAPED = {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": "8080",
    "prometheus.io/path": "/metrics",
}


def jar_config_map(env: dict[str, str], version: str) -> dict[str, Any]:
    """ConfigMap `hello-<version>` holding the released jar (a few KiB) as binary data."""
    import base64

    url = f"{env['ROLLWAY_MAVEN_URL']}/com/example/hello/{version}/hello-{version}.jar"
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    jar = httpx.get(url, auth=auth, timeout=30)
    jar.raise_for_status()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": config_map_name(version)},
        "binaryData": {"app.jar": base64.b64encode(jar.content).decode()},
    }


def config_map_name(version: str) -> str:
    return f"hello-{version.replace('.', '-')}"


def pod_spec(version: str) -> dict[str, Any]:
    """A restricted pod spec on the real node running `java -jar` of that version."""
    return {
        "nodeSelector": {LABEL: LABEL_VALUE},
        "tolerations": [{"key": LABEL, "operator": "Exists", "effect": "NoSchedule"}],
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 0,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app",
            "image": IMAGE,
            "command": ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar",
                        "/app/app.jar"],
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True},
            "volumeMounts": [{"name": "jar", "mountPath": "/app"}],
            "readinessProbe": {"httpGet": {"path": "/actuator/health/readiness", "port": 8080},
                               "periodSeconds": 1},
        }],
        "volumes": [{"name": "jar", "configMap": {"name": config_map_name(version)}}],
    }  # fmt: skip
