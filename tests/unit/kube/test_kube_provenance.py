"""Provenance stamped on objects and their pods, checked before anything reaches a cluster."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rollway.errors import InvalidInput
from rollway.kube.apply import keep_rollouts_selector
from rollway.kube.provenance import Provenance, stamp

GOOD = Provenance(
    deployment_id="dep-20261122-0042",
    artifact="com.acme:orders:1.4.2",
    jar_sha256="b" * 64,
    image_digest="sha256:" + "d" * 64,
    chart_repo="https://gitea.example.com/team/charts.git",
    chart_commit="c" * 40,
)
ROLLOUT: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "orders", "labels": {"app": "orders"}},
    "spec": {"template": {"metadata": {"labels": {"app": "orders"}}, "spec": {}}},
}


def test_objects_and_their_pod_templates_carry_the_provenance() -> None:
    stamped = stamp(ROLLOUT, GOOD)
    for metadata in (stamped["metadata"], stamped["spec"]["template"]["metadata"]):
        assert metadata["labels"] == {
            "app": "orders",
            "rollway.io/deployment-id": GOOD.deployment_id,
        }
        assert metadata["annotations"] == {
            "rollway.io/artifact": "com.acme:orders:1.4.2",
            "rollway.io/jar-sha256": "b" * 64,
            "rollway.io/image-digest": "sha256:" + "d" * 64,
            "rollway.io/chart-repo": "https://gitea.example.com/team/charts.git",
            "rollway.io/chart-commit": "c" * 40,
        }
    assert "annotations" not in ROLLOUT["metadata"]  # the input is not modified


def test_only_workloads_get_their_template_stamped() -> None:
    template = {"kind": "PodTemplate", "metadata": {"name": "t"}, "spec": {"template": {}}}
    assert stamp(template, GOOD)["spec"]["template"] == {}
    service = stamp({"kind": "Service", "metadata": {"name": "s"}, "spec": {}}, GOOD)
    assert service["metadata"]["labels"] == GOOD.labels


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deployment_id", "Dep 1"),
        ("deployment_id", "x" * 64),
        ("deployment_id", "-dep"),
        ("artifact", "com.acme"),
        ("jar_sha256", "B" * 64),
        ("jar_sha256", "b" * 63),
        ("image_digest", "d" * 64),
        ("chart_repo", "https://user:pw@gitea.example.com/x.git"),
        ("chart_commit", "abc1234"),
        ("chart_commit", "{{workflow.name}}"),
    ],
)
def test_each_value_is_checked_naming_its_option(field: str, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        dataclasses.replace(GOOD, **{field: value})
    assert caught.value.field == field.replace("_", "-")


def test_the_rollouts_controllers_selector_pin_is_kept() -> None:
    rendered: dict[str, Any] = {
        "kind": "Service",
        "spec": {"selector": {"app": "orders"}, "ports": []},
    }
    live: dict[str, Any] = {
        "spec": {"selector": {"app": "orders", "rollouts-pod-template-hash": "7ccb7865c8"}}
    }
    kept = keep_rollouts_selector(rendered, live)
    assert kept["spec"] == {
        "selector": {"app": "orders", "rollouts-pod-template-hash": "7ccb7865c8"},
        "ports": [],
    }
    assert rendered["spec"]["selector"] == {"app": "orders"}
    assert keep_rollouts_selector(rendered, None) is rendered
    assert keep_rollouts_selector(rendered, {"spec": {"selector": {"app": "x"}}}) is rendered
