"""Which task of a DAG comes next and whether it runs (`depends`, then `when`), as Argo decides.

Pure functions of the nodes reached so far: the workflow walks its DAGs with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .expressions import depends_on, evaluate_depends, evaluate_when, substitute
from .spec import Task, Template
from .state import FAILED, FINAL, Node, WorkflowState


def scope(state: WorkflowState, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What `{{…}}` may name: the workflow's parameters, name and namespace, every output so
    far, and `extra` (the exit handler's workflow.status and workflow.failures)."""
    values = {f"workflow.parameters.{k}": v for k, v in state["parameters"].items()}
    values["workflow.name"] = state["name"]
    values["workflow.namespace"] = state["namespace"]
    for node in state["nodes"].values():
        for key, value in node.get("outputs", {}).items():
            values[f"tasks.{node['name']}.outputs.parameters.{key}"] = value
    values.update(extra or {})
    return values


def next_due(dag: Template, nodes: Iterable[Node]) -> tuple[Task, dict[str, str]] | None:
    """A task of `dag` not started yet whose dependencies have all finished, if any, with the
    phases of the DAG's finished tasks."""
    reached = {n["name"]: n for n in nodes if n["dag"] == dag.name}
    results = {k: n["phase"] for k, n in reached.items() if n["phase"] in FINAL}
    for task in dag.tasks:
        if task.name not in reached and all(d in results for d in depends_on(task.depends)):
            return task, results
    return None


def not_run(
    task: Task, results: Mapping[str, str], values: Mapping[str, str]
) -> tuple[str, str] | None:
    """The phase and message of a due task that does not run, or None when it runs.
    Argo's order: depends, then when."""
    if not evaluate_depends(task.depends, results):
        return "Omitted", "omitted: depends condition not met"
    if not evaluate_when(substitute(task.when, values)):
        return "Skipped", f"when '{task.when}' evaluated false"
    return None


def dag_phase(dag: Template, phases: Mapping[str, str]) -> str:
    """A finished DAG's phase as Argo's assessDAGPhase finds it: from its target tasks (those
    no other task depends on). A Skipped or Omitted target takes the phase of the last completed
    task on a path to it, a failure winning; so a failure a later task handles (`x.Failed`)
    does not fail the DAG."""
    parents = {t.name: depends_on(t.depends) for t in dag.tasks}
    depended = {p for names in parents.values() for p in names}
    memo: dict[str, str] = {}

    def branch(name: str) -> str:
        if name not in memo:
            own = phases.get(name, "Succeeded")
            if own in ("Succeeded", *FAILED):
                memo[name] = own
            else:
                inherited = [branch(p) for p in parents[name]]
                memo[name] = next((p for p in inherited if p in FAILED), "Succeeded")
        return memo[name]

    targets = [branch(t.name) for t in dag.tasks if t.name not in depended]
    return next((p for p in targets if p in FAILED), "Succeeded")
