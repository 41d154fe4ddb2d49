"""Waiting on a Rollout through the real watch API: re-established, re-listed, bounded."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client, watch

from rollway.errors import NotFound
from rollway.rollouts import RolloutsClient, RolloutTimeout, wait_for_phase
from rollway.rollouts import watch as rollway_watch
from tests.integration.rollouts.manifests import (
    APP,
    bluegreen,
    canary,
    create,
    service,
    set_image,
)

pytestmark = pytest.mark.integration


def paused_bluegreen(api: client.ApiClient, namespace: str) -> None:
    create(api, namespace, service(f"{APP}-active"), service(f"{APP}-preview"), bluegreen())
    wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    set_image(api, namespace, "web:2")
    wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=120)


def test_watch_is_reestablished_across_short_watches(
    api: client.ApiClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    streams: list[dict[str, Any]] = []
    real_stream = watch.Watch.stream

    def counting_stream(self: watch.Watch, func: Any, *args: Any, **kwargs: Any) -> Any:
        streams.append(kwargs)
        return real_stream(self, func, *args, **kwargs)

    monkeypatch.setattr(watch.Watch, "stream", counting_stream)
    monkeypatch.setattr(rollway_watch, "WATCH_SECONDS", 1)

    steps: list[dict[str, Any]] = [{"setWeight": 50}, {"pause": {"duration": "5s"}}]
    create(api, namespace, canary(steps, replicas=2))
    wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    set_image(api, namespace, "web:2")
    seen: list[tuple[str, str]] = []
    done = wait_for_phase(
        api, namespace, APP, timeout=120, on_change=lambda *change: seen.append(change)
    )
    assert done.phase == "Healthy" and done.stable_hash == done.current_hash
    assert ("Paused", "CanaryPauseStep") in seen  # the 5 s pause was watched through
    assert seen[-1] == ("Healthy", "")
    # Several one-second watches, each resuming from a resourceVersion.
    assert len(streams) >= 3
    assert all(s["timeout_seconds"] == 1 and s["resource_version"] for s in streams)


def test_expired_resource_version_is_listed_again(api: client.ApiClient, namespace: str) -> None:
    create(api, namespace, canary([], replicas=1))
    rollouts = RolloutsClient(api)
    current = rollouts.read(namespace, APP)
    stream = rollway_watch.watch_rollout(rollouts, namespace, APP, time.monotonic() + 30, since="1")
    first = next(stream)  # "1" is long gone (410 Gone): the Rollout is listed afresh
    stream.close()
    assert first["metadata"]["uid"] == current["metadata"]["uid"]
    assert int(first["metadata"]["resourceVersion"]) >= int(current["metadata"]["resourceVersion"])


def test_timeout_names_the_last_phase(api: client.ApiClient, namespace: str) -> None:
    paused_bluegreen(api, namespace)
    with pytest.raises(RolloutTimeout) as caught:
        wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=2)
    assert str(caught.value) == (
        f"rollout '{APP}' did not become Healthy within 2s (last: Paused - BlueGreenPause)"
    )
    assert caught.value.phase == "Paused"


def test_deleted_while_waiting(api: client.ApiClient, namespace: str) -> None:
    paused_bluegreen(api, namespace)
    custom = client.CustomObjectsApi(api)

    def delete_on_first_sight(phase: str, message: str) -> None:
        custom.delete_namespaced_custom_object(
            "argoproj.io", "v1alpha1", namespace, "rollouts", APP
        )

    with pytest.raises(NotFound, match=f"rollout '{APP}' in namespace '{namespace}' was deleted"):
        wait_for_phase(api, namespace, APP, timeout=60, on_change=delete_on_first_sight)
