"""One workflow on its way: its DAG walked in a thread, then its exit handler, as Argo runs them.

Scheduling decides what runs (`schedule`), the local executor runs the container steps
(`executor`), and every change goes to the journal (`state`); here are the deadline, suspend
nodes, stop/terminate and the workflow's final phase.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Mapping

from ...errors import InvalidInput
from . import schedule
from .executor import LocalExecutor, SecretSource, kill_group
from .expressions import substitute
from .spec import Task, Template, WorkflowSpec
from .state import FAILED, FINAL, Journal, Node, finish, new_node, now, seconds_since


class Workflow:
    """One workflow: its journal, its threads and its running processes."""

    def __init__(
        self,
        spec: WorkflowSpec,
        journal: Journal,
        base_env: Mapping[str, str],
        secrets: SecretSource | None,
    ) -> None:
        self.spec, self.journal = spec, journal
        self.state, self.cond = journal.state, journal.cond
        self.executor = LocalExecutor(journal, base_env, secrets)
        #: The DAGs being walked, with their extra scope (the exit handler's workflow.status).
        self.active: dict[str, tuple[Template, Mapping[str, str] | None]] = {}

    def start(self) -> None:
        threading.Thread(target=self._main, name=f"wf-{self.state['name']}", daemon=True).start()

    def shutdown(self, strategy: str, message: str | None = None) -> None:
        with self.cond:
            if self.state["phase"] not in ("Running", "Pending") or self.state["shutdown"]:
                return
            self.state["shutdown"] = strategy
            self.state["message"] = message or f"Stopped with strategy '{strategy}'"
            for node in self.state["nodes"].values():
                if node["phase"] == "Running" and node["type"] == "Suspend":
                    finish(node, "Failed", self.state["message"])
            for dag, extra in list(self.active.values()):
                self._last_pass(dag, extra)
            procs = self.executor.running()
            self.journal.save()
        for proc in procs:
            kill_group(proc.pid, signal.SIGTERM)

    def _last_pass(self, dag: Template, extra: Mapping[str, str] | None) -> None:
        """Argo's pass over a DAG in the reconcile that shuts it down: tasks whose dependencies
        have all finished (steps still running do not count) end Omitted or Skipped when not
        due, Failed when due — no pod starts — and nothing is evaluated after it."""
        strategy = self.state["shutdown"]
        while (due := schedule.next_due(dag, self.state["nodes"].values())) is not None:
            task, results = due
            skipped = schedule.not_run(task, results, schedule.scope(self.state, extra))
            if skipped:
                self._add_node(dag, task, *skipped)
            else:
                self._add_node(dag, task, "Failed", f"workflow shutdown with strategy: {strategy}")

    def _main(self) -> None:
        deadline = self.spec.deadline
        timer = None
        if deadline:
            left = deadline - seconds_since(self.state["startedAt"])
            timer = threading.Timer(
                max(left, 0), self.shutdown, ("Stop", "Max duration limit exceeded")
            )
            timer.daemon = True
            timer.start()
        try:
            phase = self._dag(self.spec.templates[self.spec.entrypoint])
            with self.cond:
                strategy = self.state["shutdown"]
            if strategy:
                phase = "Failed"
            if self.spec.on_exit and strategy != "Terminate":
                failures = [
                    {"displayName": n["name"], "message": n["message"], "templateName": n["template"],
                     "phase": n["phase"]}
                    for n in self.journal.ordered_nodes() if n["phase"] in FAILED
                ]  # fmt: skip
                extra = {"workflow.status": phase, "workflow.failures": json.dumps(failures)}
                with self.cond:
                    self.state["shutdown"] = None  # the exit handler itself must run
                exit_phase = self._dag(self.spec.templates[self.spec.on_exit], extra)
                if exit_phase in FAILED and phase == "Succeeded":
                    phase = "Failed"
                    with self.cond:
                        self.state["message"] = "exit handler failed"
        except Exception as err:  # an engine bug must still end the workflow visibly
            phase = "Error"
            with self.cond:
                self.state["message"] = f"engine error: {err}"
        finally:
            if timer:
                timer.cancel()
        with self.cond:
            failed = next((n for n in self.journal.ordered_nodes() if n["phase"] in FAILED), None)
            if phase in FAILED and not self.state["message"] and failed:
                self.state["message"] = f"{failed['name']}: {failed['message']}"
            self.state.update({"phase": phase, "finishedAt": now()})
            self.journal.save()

    def _dag(self, dag: Template, extra: Mapping[str, str] | None = None) -> str:
        threads: list[threading.Thread] = []
        results: dict[str, str] = {}
        with self.cond:
            self.active[dag.name] = (dag, extra)
            while True:
                if self.state["shutdown"]:
                    # Argo fails a DAG as soon as the workflow is shut down (assessDAGPhase);
                    # `shutdown` made the last pass over it.
                    shutdown = True
                    break
                due = schedule.next_due(dag, self.state["nodes"].values())
                if due is None:
                    nodes = [n for n in self.state["nodes"].values() if n["dag"] == dag.name]
                    results = {n["name"]: n["phase"] for n in nodes if n["phase"] in FINAL}
                    if len(results) == len(dag.tasks):
                        shutdown = False
                        break
                    self.cond.wait(timeout=1.0)
                    continue
                task, results = due
                scope = schedule.scope(self.state, extra)
                skipped = schedule.not_run(task, results, scope)
                if skipped:
                    self._add_node(dag, task, *skipped)
                else:
                    node = self._add_node(dag, task, "Running")
                    thread = threading.Thread(
                        target=self._task, args=(node, task, scope), daemon=True
                    )
                    threads.append(thread)
                    thread.start()
                self.journal.save()
            self.active.pop(dag.name, None)
        for thread in threads:
            thread.join()
        return "Failed" if shutdown else schedule.dag_phase(dag, results)

    def _add_node(self, dag: Template, task: Task, phase: str, message: str = "") -> Node:
        kind = self.spec.templates[task.template].kind
        node = new_node(self.state["name"], dag.name, task, kind, phase, message)
        self.state["nodes"][node["id"]] = node
        return node

    def _task(self, node: Node, task: Task, scope: dict[str, str]) -> None:
        template = self.spec.templates[task.template]
        inputs = {**template.input_defaults}
        inputs.update({k: substitute(v, scope) for k, v in task.arguments.items()})
        scope = {**scope, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        try:
            if template.kind == "suspend":
                self._suspend(node, template)
            elif template.kind == "container":
                self.executor.run(node, template, scope)
            else:
                raise InvalidInput("nested DAG templates are not supported", field=template.name)
        except Exception as err:
            with self.cond:
                finish(node, "Error", str(err))
                self.journal.save()

    def _suspend(self, node: Node, template: Template) -> None:
        deadline = (
            None
            if template.suspend_seconds is None
            else time.monotonic() + template.suspend_seconds
        )
        with self.cond:
            while node["phase"] == "Running":
                if deadline is not None and time.monotonic() >= deadline:
                    finish(node, "Succeeded", "suspend duration elapsed")
                    self.journal.save()
                    return
                self.cond.wait(timeout=1.0)
