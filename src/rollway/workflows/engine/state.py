"""A workflow's state as the engine keeps it, and its journal on disk.

The state is plain JSON in the shape of an Argo Workflow's status (phases, nodes, messages), so a
snapshot is what the backends read and the journal is what a restarted engine loads again.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from .spec import Task

FINAL = {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}
FAILED = {"Failed", "Error"}
#: The node type of each template kind (a task that did not run is "Skipped" whatever its kind).
NODE_TYPES = {"container": "Pod", "suspend": "Suspend", "dag": "DAG"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
JOURNAL = "workflow.json"


class Node(TypedDict):
    """One task of a DAG that was reached: run, skipped or omitted."""

    id: str
    name: str
    dag: str
    type: str  # Pod | Suspend | DAG | Skipped
    template: str
    phase: str
    startedAt: str | None
    finishedAt: str | None
    message: str
    outputs: dict[str, str]
    retries: int
    pid: NotRequired[int]  # a Pod's process group, once started


class WorkflowState(TypedDict):
    """One workflow; `version` counts changes, so watchers know when to look again."""

    name: str
    namespace: str
    template: str
    labels: dict[str, str]
    parameters: dict[str, str]
    phase: str
    startedAt: str
    finishedAt: str | None
    message: str
    shutdown: str | None  # the strategy of a stop or terminate
    nodes: dict[str, Node]
    version: int
    spec: Mapping[str, Any]  # the template's source: a restarted engine parses it again


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime(TIME_FORMAT)


def seconds_since(timestamp: str) -> float:
    started = dt.datetime.strptime(timestamp, TIME_FORMAT).replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - started).total_seconds()


def new_node(workflow: str, dag: str, task: Task, kind: str, phase: str, message: str) -> Node:
    """The node of `task` (its template of `kind`) as it is reached in `phase`."""
    return {
        "id": f"{workflow}-{dag}-{task.name}",
        "name": task.name,
        "dag": dag,
        "type": NODE_TYPES[kind] if phase not in ("Skipped", "Omitted") else "Skipped",
        "template": task.template,
        "phase": phase,
        "startedAt": now() if phase == "Running" else None,
        "finishedAt": now() if phase in FINAL else None,
        "message": message,
        "outputs": {},
        "retries": 0,
    }


def finish(node: Node, phase: str, message: str = "") -> None:
    node.update({"phase": phase, "finishedAt": now(), "message": message})


def journal_path(directory: Path) -> Path:
    return directory / JOURNAL


class Journal:
    """A workflow's state, rewritten to `workflow.json` after every change, and its step logs.

    `cond` guards the state (the engine shares one for all workflows): who changes the state
    holds it, and `save` wakes whoever waits on it.
    """

    def __init__(self, directory: Path, state: WorkflowState, cond: threading.Condition) -> None:
        self.dir, self.state, self.cond = directory, state, cond

    @classmethod
    def load(cls, path: Path, cond: threading.Condition) -> Journal:
        return cls(path.parent, cast(WorkflowState, json.loads(path.read_text())), cond)

    def save(self) -> None:
        """Persist and wake watchers; callers hold the condition."""
        self.state["version"] += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f"{JOURNAL}.tmp"
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(journal_path(self.dir))
        self.cond.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self.cond:
            state: dict[str, Any] = json.loads(json.dumps(self.state))
        state.pop("spec", None)
        return state

    def ordered_nodes(self) -> list[Node]:
        with self.cond:
            nodes = list(self.state["nodes"].values())
        return sorted(nodes, key=lambda n: (n.get("startedAt") or "~", n["id"]))

    def log_path(self, node: Node) -> Path:
        return self.dir / "logs" / f"{node['id']}.log"
