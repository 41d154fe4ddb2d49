"""Wait for a Rollout to reach a phase, by watching it (the pipeline's wait-rollout step).

Like `kubectl argo rollouts status`: Healthy succeeds, Degraded fails, and a deadline bounds the
wait; Paused can count as success too (a blue-green waiting for promotion). Uses the Kubernetes
watch API from the listed resourceVersion, re-establishing the watch when the server ends it and
re-listing when that version has expired (410 Gone).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any, cast

from ..errors import InvalidInput, NotFound, RollwayError
from ..kube.client import api_error, api_errors
from .client import GROUP, PLURAL, VERSION, RolloutsClient, check_names
from .info import RolloutInfo
from .phase import Phase, rollout_phase

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

#: Longest single watch request; the server ends it and it is re-established from the last version.
WATCH_SECONDS = 60


class RolloutDegraded(RollwayError):
    """The rollout is Degraded: aborted, failed analysis, progress deadline or invalid spec."""

    status = 409
    title = "Rollout degraded"

    def __init__(self, info: RolloutInfo) -> None:
        super().__init__(f"rollout '{info.name}' is Degraded: {info.message}")
        self.info = info


class RolloutTimeout(RollwayError):
    """The rollout did not reach the wanted phase in time."""

    status = 504
    title = "Timed out waiting for rollout"

    def __init__(self, message: str, phase: str) -> None:
        super().__init__(message)
        self.phase = phase


def wait_for_phase(
    api: ApiClient | None,
    namespace: str,
    name: str,
    *,
    until: Collection[str] = (Phase.HEALTHY,),
    timeout: float = 600.0,
    on_change: Callable[[str, str], None] | None = None,
) -> RolloutInfo:
    """Watch until the phase is one of `until`, then return what the user sees.

    The phase is `rollout_phase`'s, the one the API and the CLI show, so a Rollout just aborted or
    retried counts as Progressing until the controller acts. `api` None loads the cluster
    configuration (`load_api`). Raises `RolloutDegraded` on Degraded (unless `until` has it) and
    `RolloutTimeout` after `timeout` seconds. `on_change(phase, message)` is called whenever
    either changes.
    """
    check_names(namespace, name)
    wanted = _phases(until)
    if timeout <= 0:
        raise InvalidInput("must be more than 0 seconds", field="timeout")
    client = RolloutsClient(api)
    deadline = time.monotonic() + timeout
    seen = ("", "")
    for ro in watch_rollout(client, namespace, name, deadline):
        phase, message = rollout_phase(ro)
        if (phase, message) != seen and on_change is not None:
            on_change(phase, message)
        seen = (phase, message)
        if phase in wanted:
            return client.info(ro)
        if phase == Phase.DEGRADED:
            raise RolloutDegraded(client.info(ro))
    phase, message = seen
    raise RolloutTimeout(
        f"rollout '{name}' did not become {' or '.join(sorted(wanted))} within {timeout:g}s"
        f" (last: {phase}{' - ' + message if message else ''})",
        phase,
    )


def watch_rollout(
    client: RolloutsClient, namespace: str, name: str, deadline: float, since: str | None = None
) -> Iterator[dict[str, Any]]:
    """The Rollout now, then each new version of it, until `deadline` (a monotonic time).

    With `since` (a resourceVersion already seen), only the versions after it; if it has
    expired, the Rollout as it is now comes first.
    """
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

    selector = f"metadata.name={name}"
    what = f"rollout '{name}' in namespace '{namespace}'"
    version = since
    while (remaining := deadline - time.monotonic()) > 0:
        if version is None:
            with api_errors(what):
                listing = cast(
                    dict[str, Any],
                    client.custom.list_namespaced_custom_object(
                        GROUP, VERSION, namespace, PLURAL, field_selector=selector
                    ),
                )
            if not listing["items"]:
                raise NotFound(f"{what} not found")
            version = listing["metadata"]["resourceVersion"]
            yield listing["items"][0]
        seconds = max(1, math.ceil(min(remaining, WATCH_SECONDS)))
        stream = watch.Watch().stream(
            client.custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            field_selector=selector,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=seconds,
            _request_timeout=seconds + 10,
        )
        try:
            for event in stream:
                obj = event["raw_object"]
                version = obj["metadata"]["resourceVersion"]
                if event["type"] == "DELETED":
                    raise NotFound(f"{what} was deleted")
                if event["type"] != "BOOKMARK":
                    yield obj
                if time.monotonic() >= deadline:
                    return
        except ApiException as exc:
            if exc.status != 410:
                raise api_error(exc, what) from exc
            version = None  # that version has expired: list again
        except (ProtocolError, ReadTimeoutError):
            pass  # connection dropped: watch again from the last version seen
        except HTTPError as exc:
            raise api_error(exc, what) from exc


def _phases(until: Collection[str]) -> set[str]:
    """`until` as phase names; an unknown one is an error naming the field."""
    if isinstance(until, str):
        until = (until,)
    known = {str(p) for p in Phase}
    wanted = {str(p) for p in until}
    if not wanted or not wanted <= known:
        unknown = ", ".join(sorted(wanted - known)) or "nothing"
        raise InvalidInput(
            f"{unknown} is not a phase; use {', '.join(sorted(known))}", field="until"
        )
    return wanted
