"""A scripted workflow engine for API tests: the `Backend` protocol over an in-memory DAG.

It runs nothing. A submitted `rollway-deploy` workflow goes straight to the point the API cares
about: waiting at the `approval` gate when approval is required, else past the gate (its
`promote` step running) until the test calls `finish`; `gate` puts one at the gate anyway, as
a blue-green rollout waiting for promotion would be. Resume, stop and retry move it the way Argo
would. The parameters are validated with DEPLOY_PARAMS, as every backend must.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Mapping

from rollway.errors import Conflict, InvalidInput, NotFound
from rollway.workflows.backends import NodeStatus, WorkflowStatus
from rollway.workflows.parameters import DEPLOY_PARAMS

NOW = "2026-11-22T08:00:00Z"
DONE = "2026-11-22T08:00:05Z"


def _node(name: str, phase: str, kind: str = "Pod", /, **outputs: str) -> NodeStatus:
    finished = DONE if phase in ("Succeeded", "Failed", "Skipped") else None
    return NodeStatus(id=f"n-{name}", name=name, type=kind, phase=phase,  # type: ignore[arg-type]
                      template=name, started_at=NOW, finished_at=finished, outputs=outputs)  # fmt: skip


class ScriptedBackend:
    def __init__(self) -> None:
        self.workflows: dict[str, WorkflowStatus] = {}
        self.calls: list[tuple[str, str]] = []
        self._changed = threading.Condition()

    # -- the protocol ---------------------------------------------------------------------------

    def submit(
        self, template: str, parameters: Mapping[str, str], *, labels: Mapping[str, str], name: str
    ) -> WorkflowStatus:
        params = DEPLOY_PARAMS.validate(parameters)
        with self._changed:
            if name in self.workflows:
                raise Conflict(f"workflow {name} already exists")
            app, version = params["app"], params["coordinates"].rsplit(":", 1)[1]
            nodes = [
                _node("resolve-artifact", "Succeeded", version=version, sha256="ab" * 32),
                _node(
                    "build-image",
                    "Succeeded",
                    image=f"{params['image-repository']}:{version}",
                    digest="sha256:" + "cd" * 32,
                    pushed="true",
                ),  # fmt: skip
                _node("fetch-chart", "Succeeded", commit="ef" * 20),
                _node("render", "Succeeded"),
                _node("apply", "Succeeded", rollout=app),
                _node("wait-rollout", "Succeeded", phase="Paused", revision="2"),
            ]
            if params["approval-required"] == "true":
                nodes.append(_node("approval", "Running", "Suspend"))
            else:
                nodes.append(_node("promote", "Running"))
            workflow = WorkflowStatus(
                name=name, namespace="rollway", template=template, phase="Running",
                labels=dict(labels), parameters=params, started_at=NOW, nodes=tuple(nodes),
            )  # fmt: skip
            self._store(workflow, "submit")
            return workflow

    def get(self, name: str) -> WorkflowStatus:
        try:
            return self.workflows[name]
        except KeyError:
            raise NotFound(f"workflow {name} not found") from None

    def list(self, labels: Mapping[str, str]) -> list[WorkflowStatus]:
        return [
            w
            for w in self.workflows.values()
            if all(w.labels.get(k) == v for k, v in labels.items())
        ]

    def resume(self, name: str, node_field_selector: str) -> None:
        workflow = self.get(name)
        if node_field_selector != "displayName=approval" or workflow.suspended is None:
            raise InvalidInput(f"nothing to resume with {node_field_selector!r}")
        self.finish(name, "resume")

    def stop(self, name: str, node_field_selector: str = "") -> None:
        workflow = self.get(name)
        nodes = tuple(
            dataclasses.replace(n, phase="Failed", finished_at=DONE) if n.phase == "Running" else n
            for n in workflow.nodes
        )
        self._store(dataclasses.replace(workflow, phase="Failed", finished_at=DONE,
                                        message="Stopped with strategy 'Stop'", nodes=nodes), "stop")  # fmt: skip

    def terminate(self, name: str) -> None:
        self.stop(name)

    def retry(self, name: str) -> None:
        workflow = self.get(name)
        if not workflow.finished:
            raise Conflict(f"workflow {name} has not finished")
        nodes = tuple(
            dataclasses.replace(n, phase="Running", finished_at=None) if n.phase == "Failed" else n
            for n in workflow.nodes
        )
        self._store(dataclasses.replace(workflow, phase="Running", finished_at=None, message="",
                                        nodes=nodes), "retry")  # fmt: skip

    def watch(self, name: str, timeout: float | None = None) -> Iterator[WorkflowStatus]:
        deadline = time.monotonic() + (timeout if timeout is not None else 3600)
        last = None
        while time.monotonic() < deadline:
            with self._changed:
                current = self.get(name)
                if current is last:
                    self._changed.wait(max(0.0, deadline - time.monotonic()))
                    continue
            last = current
            yield current
            if current.finished:
                return

    def logs(self, name: str, node: str | None = None, follow: bool = False) -> Iterator[str]:
        workflow = self.get(name)
        for n in workflow.nodes:
            if node in (None, n.name):
                yield f"{n.name}: {n.name} is {n.phase}"

    # -- driving it from a test -----------------------------------------------------------------

    def gate(self, name: str) -> None:
        """Back at the approval gate (the rollout paused, waiting to be promoted)."""
        workflow = self.get(name)
        nodes = tuple(n for n in workflow.nodes if n.name != "promote")
        self._store(dataclasses.replace(
            workflow, nodes=(*nodes, _node("approval", "Running", "Suspend"))), "gate")  # fmt: skip

    def finish(self, name: str, call: str = "finish") -> None:
        """Everything still running succeeds, and the workflow with it."""
        workflow = self.get(name)
        nodes = [
            dataclasses.replace(n, phase="Succeeded", finished_at=DONE)
            if n.phase == "Running"
            else n
            for n in workflow.nodes
        ]
        names = {n.name for n in nodes}
        nodes += [_node(s, "Succeeded") for s in ("promote",) if s not in names]
        nodes.append(_node("wait-healthy", "Succeeded", phase="Healthy", revision="2"))
        self._store(dataclasses.replace(workflow, phase="Succeeded", finished_at=DONE,
                                        nodes=tuple(nodes)), call)  # fmt: skip

    def _store(self, workflow: WorkflowStatus, call: str) -> None:
        with self._changed:
            self.workflows[workflow.name] = workflow
            self.calls.append((call, workflow.name))
            self._changed.notify_all()
