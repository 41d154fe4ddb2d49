"""Diff normalisation: only what Rollway would change shows; what servers and controllers write
on their own, and the provenance stamped on every deployment, does not."""

from __future__ import annotations

import copy
from typing import Any

from rollway.kube.diff import compare, normalize, summary

RENDERED: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "orders", "namespace": "shop", "labels": {"app": "orders"}},
    "spec": {
        "replicas": 2,
        "template": {
            "metadata": {"labels": {"app": "orders"}},
            "spec": {"containers": [{"name": "app", "image": "reg/orders@sha256:aa"}]},
        },
    },
}


def live_version_of(rendered: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server returns it after the controllers have had a go at it."""
    live = copy.deepcopy(rendered)
    live["metadata"].update(
        uid="6b7e…",
        resourceVersion="4711",
        generation=3,
        creationTimestamp="2026-01-05T09:00:00Z",
        managedFields=[{"manager": "rollway", "operation": "Apply"}],
        annotations={
            "rollout.argoproj.io/revision": "3",
            "rollway.io/chart-commit": "c" * 40,
        },
    )
    live["metadata"]["labels"]["rollway.io/deployment-id"] = "dep-41"
    template_meta = live["spec"]["template"]["metadata"]
    template_meta["creationTimestamp"] = None
    template_meta["annotations"] = {"rollway.io/jar-sha256": "b" * 64}
    live["status"] = {"phase": "Healthy", "observedGeneration": "3"}
    return live


def test_server_controller_and_provenance_fields_are_ignored() -> None:
    assert normalize(live_version_of(RENDERED)) == RENDERED


def test_normalize_leaves_its_input_alone() -> None:
    live = live_version_of(RENDERED)
    before = copy.deepcopy(live)
    normalize(live)
    assert live == before


def test_unchanged_objects_have_no_diff() -> None:
    change = compare("Rollout", "orders", live_version_of(RENDERED), RENDERED)
    assert (change.action, change.diff) == ("unchanged", "")


def test_a_changed_image_shows_as_a_unified_diff_of_that_line() -> None:
    desired = copy.deepcopy(RENDERED)
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = "reg/orders@sha256:bb"
    change = compare("Rollout", "orders", live_version_of(RENDERED), desired)
    assert change.action == "changed"
    lines = change.diff.splitlines()
    assert lines[:2] == ["--- live/Rollout/orders", "+++ rendered/Rollout/orders"]
    assert "-      - image: reg/orders@sha256:aa" in lines
    assert "+      - image: reg/orders@sha256:bb" in lines
    assert sum(1 for ln in lines if ln[:1] in "+-" and ln[:3] not in ("+++", "---")) == 2


def test_user_annotations_still_count() -> None:
    desired = copy.deepcopy(RENDERED)
    desired["metadata"]["annotations"] = {"team": "payments"}
    assert compare("Rollout", "orders", live_version_of(RENDERED), desired).action == "changed"


def test_an_absent_object_is_created_with_every_line_added() -> None:
    change = compare("Rollout", "orders", None, RENDERED)
    assert change.action == "created"
    body = change.diff.splitlines()[3:]
    assert body and all(line.startswith("+") for line in body)


def test_cronjob_pod_templates_are_normalised_too() -> None:
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "x"},
        "spec": {"jobTemplate": {"spec": {"template": {"metadata": {
            "creationTimestamp": None, "labels": {"rollway.io/deployment-id": "d"}}}}}},
    }  # fmt: skip
    assert normalize(cron)["spec"]["jobTemplate"]["spec"]["template"] == {"metadata": {}}


def test_summary_groups_objects_by_action() -> None:
    changes = [
        compare("Service", "orders", None, {"kind": "Service"}),
        compare("Rollout", "orders", live_version_of(RENDERED), RENDERED),
    ]
    assert summary(changes) == {
        "created": ["Service/orders"],
        "changed": [],
        "unchanged": ["Rollout/orders"],
    }


def test_only_provenance_is_ignored_not_every_rollway_label() -> None:
    desired = copy.deepcopy(RENDERED)
    desired["metadata"]["labels"]["rollway.io/app"] = "orders-v2"
    live = live_version_of(RENDERED)
    live["metadata"]["labels"]["rollway.io/app"] = "orders"
    change = compare("Rollout", "orders", live, desired)
    assert change.action == "changed"
    assert "+    rollway.io/app: orders-v2" in change.diff.splitlines()
