"""The one interface the API server uses to run pipelines, whatever engine is behind it."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Literal, Protocol

Phase = Literal["Pending", "Running", "Succeeded", "Failed", "Error"]
NodePhase = Literal["Pending", "Running", "Succeeded", "Failed", "Error", "Skipped", "Omitted"]
FINISHED = frozenset({"Succeeded", "Failed", "Error"})


class Cancel:
    """Ends a blocking stream (a followed log, a watch) from another thread: when its reader
    went away, the thread waiting for the next item must not wait on for hours. A stream
    registers how to wake it (shut its socket down); a polling loop reads `cancelled`."""

    def __init__(self) -> None:
        self.cancelled = False
        self._lock = threading.Lock()
        self._wake: list[Callable[[], None]] = []

    def on_cancel(self, wake: Callable[[], None]) -> None:
        """Run `wake` when cancelled (at once if it already is)."""
        with self._lock:
            if not self.cancelled:
                self._wake.append(wake)
                return
        _quietly(wake)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled, wake, self._wake = True, self._wake, []
        for each in wake:
            _quietly(each)


def _quietly(wake: Callable[[], None]) -> None:
    with contextlib.suppress(OSError):
        wake()


@dataclasses.dataclass(frozen=True)
class NodeStatus:
    """One step of a workflow, as Argo reports it in `status.nodes`."""

    id: str
    name: str  # display name: the DAG task name (e.g. "build-image")
    type: str  # Pod, Suspend, DAG, Retry, Skipped
    phase: NodePhase
    template: str
    started_at: str | None = None
    finished_at: str | None = None
    message: str = ""
    outputs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    retries: int = 0
    #: The pods of its attempts, first to last (Argo; the embedded engine runs no pods).
    pods: tuple[str, ...] = ()
    #: Why its pod can never start (its image cannot be pulled), in one line; "" otherwise.
    cannot_start: str = ""
    #: A step of the exit handler (Argo names its nodes `<workflow>.onExit…`).
    on_exit: bool = False


@dataclasses.dataclass(frozen=True)
class WorkflowStatus:
    name: str
    namespace: str
    template: str
    phase: Phase
    labels: Mapping[str, str]
    parameters: Mapping[str, str]
    started_at: str | None = None
    finished_at: str | None = None
    message: str = ""
    nodes: tuple[NodeStatus, ...] = ()

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    def node(self, name: str) -> NodeStatus | None:
        """The DAG task node with this display name, if it exists."""
        return next((n for n in self.nodes if n.name == name and n.type != "Retry"), None) or next(
            (n for n in self.nodes if n.name == name), None
        )

    @property
    def cannot_start(self) -> NodeStatus | None:
        """A step left waiting for a pod that will never start, if any (Argo would wait out
        the step's deadline)."""
        return next((n for n in self.nodes if n.cannot_start), None)

    @property
    def suspended(self) -> NodeStatus | None:
        """The suspend node waiting to be resumed, if any."""
        return next((n for n in self.nodes if n.type == "Suspend" and n.phase == "Running"), None)


class Backend(Protocol):
    """Submit and drive workflows. Raises rollway.errors (NotFound, InvalidInput, …)."""

    def submit(
        self, template: str, parameters: Mapping[str, str], *, labels: Mapping[str, str], name: str
    ) -> WorkflowStatus:
        """Start a workflow from a WorkflowTemplate; parameters are validated before anything runs."""

    def get(self, name: str) -> WorkflowStatus: ...

    def list(self, labels: Mapping[str, str]) -> list[WorkflowStatus]: ...

    def resume(self, name: str, node_field_selector: str) -> None:
        """Resume a suspend node, e.g. node_field_selector="displayName=approval" (as Argo)."""

    def stop(self, name: str, node_field_selector: str = "") -> None:
        """Stop: running steps are ended and the exit handler runs."""

    def terminate(self, name: str) -> None:
        """Terminate: running steps are ended, the exit handler does not run."""

    def retry(self, name: str) -> None:
        """Re-run the failed part of a finished workflow, keeping what succeeded."""

    def watch(
        self, name: str, timeout: float | None = None, cancel: Cancel | None = None
    ) -> Iterator[WorkflowStatus]:
        """Yield the workflow each time it changes, until it finishes, `timeout` passes or
        `cancel` is cancelled."""

    def logs(
        self, name: str, node: str | None = None, follow: bool = False, cancel: Cancel | None = None
    ) -> Iterator[str]:
        """Log lines of a workflow's steps (of one node if given), as `<node>: <line>`; a
        followed log ends when `cancel` is cancelled."""


def from_settings(engine: str, **options: object) -> Backend:
    """`embedded` (default, local processes) or `argo` (Argo Server through Hera)."""
    if engine == "embedded":
        from .embedded import EmbeddedBackend

        return EmbeddedBackend(**options)  # type: ignore[arg-type]
    if engine == "argo":
        from .argo import ArgoBackend

        return ArgoBackend(**options)  # type: ignore[arg-type]
    raise ValueError(f"unknown engine {engine!r}: expected 'embedded' or 'argo'")
