"""Rollout, Service and AnalysisTemplate manifests, and the few kubectl-like calls tests need."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from rollway.rollouts.client import GROUP, PLURAL, VERSION

APP = "web"


def service(name: str) -> client.V1Service:
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1ServiceSpec(
            selector={"app": APP}, ports=[client.V1ServicePort(port=80, target_port=8080)]
        ),
    )


def rollout(strategy: dict[str, Any], *, replicas: int, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": APP},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": strategy,
        },
    }


def bluegreen(*, replicas: int = 2, image: str = "web:1", **options: Any) -> dict[str, Any]:
    strategy = {"activeService": f"{APP}-active", "previewService": f"{APP}-preview",
                "autoPromotionEnabled": False, "scaleDownDelaySeconds": 3, **options}  # fmt: skip
    return rollout({"blueGreen": strategy}, replicas=replicas, image=image)


def canary(steps: list[dict[str, Any]], *, replicas: int, image: str = "web:1") -> dict[str, Any]:
    return rollout({"canary": {"steps": steps}}, replicas=replicas, image=image)


def web_analysis(url: str) -> dict[str, Any]:
    """One measurement of a JSON endpoint: success when its `status` field says "ok"."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "health"},
        "spec": {
            "metrics": [
                {
                    "name": "health",
                    "count": 1,
                    "successCondition": 'result == "ok"',
                    "provider": {"web": {"url": url, "jsonPath": "{$.status}"}},
                }
            ]
        },
    }


def create(
    api: client.ApiClient, namespace: str, *objects: dict[str, Any] | client.V1Service
) -> None:
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    for obj in objects:
        if isinstance(obj, client.V1Service):
            core.create_namespaced_service(namespace, obj)
        else:
            plural = {"Rollout": PLURAL, "AnalysisTemplate": "analysistemplates"}[obj["kind"]]
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, obj)


def set_image(api: client.ApiClient, namespace: str, image: str) -> None:
    """An upgrade, as `helm upgrade` or `kubectl apply` of a new image would make it."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, APP, patch
    )


def selector(api: client.ApiClient, namespace: str, service_name: str) -> str | None:
    """The pod-template hash a Service routes to, as the controller set it."""
    svc = client.CoreV1Api(api).read_namespaced_service(service_name, namespace)
    return ((svc.spec and svc.spec.selector) or {}).get("rollouts-pod-template-hash")


def generation(api: client.ApiClient, namespace: str) -> tuple[int, str]:
    """metadata.generation and resourceVersion: unchanged means nothing was patched."""
    ro: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(  # type: ignore[assignment]
        GROUP, VERSION, namespace, PLURAL, APP
    )
    return ro["metadata"]["generation"], ro["metadata"]["resourceVersion"]
