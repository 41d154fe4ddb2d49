"""The embedded engine: runs parsed WorkflowTemplates on this machine, step by step.

It walks the DAG like Argo's controller does — `depends`, `when`, parameter and output
substitution, retries with backoff, deadlines, suspend/resume, stop/terminate/retry and the exit
handler — running each container's command as a local process. State is journalled to disk after
every change, so a restarted engine picks up the workflows that were running. Here is the API over
all workflows; `workflow` runs one, with `schedule`, `executor` and `state`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from ...errors import Conflict, InvalidInput, NotFound
from ...pipeline import validate_arguments
from .executor import SecretSource, host_image_env, kill_group
from .spec import WorkflowSpec, parse
from .state import FAILED, JOURNAL, Journal, WorkflowState, finish, journal_path, now
from .workflow import Workflow

#: Seconds a follower waits for a change before it looks again (at a log file, a cancel).
POLL = 0.5
#: The node fields `resume` selects by, under the names Argo's `nodeFieldSelector` gives them.
SELECTORS: dict[str, Literal["name", "template", "id"]] = {
    "displayName": "name",
    "templateName": "template",
    "id": "id",
}


class Cancelled(Protocol):
    """A reader's cancel of a stream (`backends.Cancel`): a follower stops once it is set."""

    cancelled: bool


class Engine:
    """Runs workflows in threads; one JSON journal and one log dir per workflow under state_dir.

    A step's process gets exactly what a pod's container would: `image_env` (the image's ENV;
    default `host_image_env()`), the template's `env`, and — standing in for the service
    account token the kubelet mounts — `KUBECONFIG=service_account_kubeconfig` when one is set.
    Nothing else of the engine's own environment reaches it.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        namespace: str = "rollway",
        secrets: SecretSource | None = None,
        image_env: Mapping[str, str] | None = None,
        service_account_kubeconfig: str | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.namespace = namespace
        self.secrets = secrets
        env = dict(host_image_env() if image_env is None else image_env)
        # `rollway-step` lives next to the interpreter running the engine.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
        if service_account_kubeconfig:
            env["KUBECONFIG"] = service_account_kubeconfig
        self.base_env = env
        self._cond = threading.Condition()
        self._runs: dict[str, Workflow] = {}
        self._recover()

    # -- public API --------------------------------------------------------------------------

    def submit(
        self,
        spec: WorkflowSpec,
        arguments: Mapping[str, str],
        *,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Validate the arguments against the template, journal the workflow, then start it."""
        params = validate_arguments(spec.name, arguments, spec.parameters)
        name = name or f"{spec.name}-{uuid.uuid4().hex[:5]}"
        with self._cond:
            if name in self._runs or self._journal(name).exists():
                raise Conflict(f"workflow {name!r} already exists", field="name")
            state: WorkflowState = {
                "name": name,
                "namespace": self.namespace,
                "template": spec.name,
                "labels": {**{k: params[p] for k, p in spec.labels_from.items()}, **(labels or {})},
                "parameters": params,
                "phase": "Running",
                "startedAt": now(),
                "finishedAt": None,
                "message": "",
                "shutdown": None,
                "nodes": {},
                "version": 0,
                "spec": spec.source,
            }
            run = self._workflow(spec, Journal(self.state_dir / name, state, self._cond))
            self._runs[name] = run
            run.journal.save()
        run.start()
        return run.journal.snapshot()

    def get(self, name: str) -> dict[str, Any]:
        return self._run(name).journal.snapshot()

    def list(self, labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        with self._cond:
            runs = list(self._runs.values())
        wanted = dict(labels or {})
        return [
            r.journal.snapshot()
            for r in runs
            if all(r.state["labels"].get(k) == v for k, v in wanted.items())
        ]

    def resume(self, name: str, node_field_selector: str) -> None:
        """Resume suspend nodes matched like Argo's `nodeFieldSelector` (displayName=…)."""
        run = self._run(name)
        key, _, value = node_field_selector.partition("=")
        field = SELECTORS.get(key.strip())
        if field is None:
            raise InvalidInput("supported selectors: displayName=, templateName=, id=",
                               field="nodeFieldSelector")  # fmt: skip
        with self._cond:
            matched = [
                n for n in run.state["nodes"].values()
                if n["type"] == "Suspend" and n["phase"] == "Running" and n[field] == value.strip()
            ]  # fmt: skip
            if not matched:
                raise Conflict(
                    f"workflow {name!r} has no suspended node with {node_field_selector}"
                )
            for node in matched:
                finish(node, "Succeeded", "resumed")
            run.journal.save()

    def stop(self, name: str) -> None:
        """End running steps; the exit handler still runs (Argo's `stop`)."""
        self._run(name).shutdown("Stop")

    def terminate(self, name: str) -> None:
        """End running steps and skip the exit handler (Argo's `terminate`)."""
        self._run(name).shutdown("Terminate")

    def retry(self, name: str) -> dict[str, Any]:
        """Re-run what failed (and what it blocked) of a finished, failed workflow."""
        run = self._run(name)
        with self._cond:
            if run.state["phase"] not in FAILED:
                raise Conflict(f"workflow {name!r} is {run.state['phase']}; only failed ones retry")
            nodes = run.state["nodes"]
            for node_id, node in list(nodes.items()):
                if node["phase"] in FAILED | {"Omitted"} or node["dag"] != run.spec.entrypoint:
                    del nodes[node_id]
            run.state.update(
                {"phase": "Running", "finishedAt": None, "message": "", "shutdown": None}
            )
            run.journal.save()
        run.start()
        return run.journal.snapshot()

    def watch(
        self, name: str, timeout: float | None = None, cancel: Cancelled | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield a snapshot now and after every change, until the workflow finishes (or the
        timeout passes, or the reader cancels)."""
        run = self._run(name)
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = -1
        while True:
            with self._cond:
                while run.state["version"] == seen:
                    left = None if deadline is None else deadline - time.monotonic()
                    if (left is not None and left <= 0) or (cancel and cancel.cancelled):
                        return
                    self._cond.wait(timeout=min(left if left is not None else 5.0, POLL))
                seen = run.state["version"]
                snap = run.journal.snapshot()
            yield snap
            if snap["phase"] not in ("Running", "Pending"):
                return

    def logs(
        self,
        name: str,
        node: str | None = None,
        follow: bool = False,
        cancel: Cancelled | None = None,
    ) -> Iterator[str]:
        """Lines of the steps' logs as `<step>: <line>`; with follow, until the workflow ends
        (or the reader cancels)."""
        run = self._run(name)
        offsets: dict[str, int] = {}
        while True:
            finished = run.state["phase"] not in ("Running", "Pending")
            for entry in run.journal.ordered_nodes():
                if entry["type"] != "Pod" or (node and entry["name"] != node):
                    continue
                path = run.journal.log_path(entry)
                if not path.exists():
                    continue
                with path.open("rb") as fh:
                    fh.seek(offsets.get(entry["id"], 0))
                    data = fh.read()
                complete = data[: data.rfind(b"\n") + 1]
                offsets[entry["id"]] = offsets.get(entry["id"], 0) + len(complete)
                for line in complete.decode(errors="replace").splitlines():
                    yield f"{entry['name']}: {line}"
            if not follow or finished or (cancel and cancel.cancelled):
                return
            with self._cond:
                self._cond.wait(timeout=POLL)

    # -- internals ---------------------------------------------------------------------------

    def _run(self, name: str) -> Workflow:
        with self._cond:
            run = self._runs.get(name)
        if run is None:
            raise NotFound(f"workflow {name!r} not found")
        return run

    def _journal(self, name: str) -> Path:
        return journal_path(self.state_dir / name)

    def _workflow(self, spec: WorkflowSpec, journal: Journal) -> Workflow:
        return Workflow(spec, journal, self.base_env, self.secrets)

    def _recover(self) -> None:
        """Load every journal; restart workflows that were running when the engine stopped."""
        for path in sorted(self.state_dir.glob(f"*/{JOURNAL}")):
            journal = Journal.load(path, self._cond)
            state = journal.state
            run = self._workflow(parse(state["spec"]), journal)
            self._runs[state["name"]] = run
            if state["phase"] in ("Running", "Pending"):
                for node_id, node in list(state["nodes"].items()):
                    if node["type"] == "Pod" and node["phase"] == "Running":
                        kill_group(node.get("pid"))
                        del state["nodes"][node_id]  # steps are idempotent: run it again
                state["message"] = "resumed after an engine restart"
                with self._cond:
                    journal.save()
                run.start()
