"""Scheduling as Argo does it: which task is due, whether it runs, and a finished DAG's phase."""

from __future__ import annotations

from rollway.workflows.engine.schedule import dag_phase, next_due, not_run
from rollway.workflows.engine.spec import Task, Template
from rollway.workflows.engine.state import Node


def task(name: str, depends: str = "", when: str = "") -> Task:
    return Task(name=name, template="t", arguments={}, depends=depends, when=when)


def dag(*tasks: Task) -> Template:
    return Template(name="main", kind="dag", tasks=tasks)


def node(name: str, phase: str, dag_name: str = "main") -> Node:
    return {"id": name, "name": name, "dag": dag_name, "type": "Pod", "template": "t",
            "phase": phase, "startedAt": None, "finishedAt": None, "message": "", "outputs": {},
            "retries": 0}  # fmt: skip


def test_a_task_is_due_once_every_task_it_depends_on_finished() -> None:
    main = dag(task("a"), task("b", depends="a"))
    assert next_due(main, [node("a", "Running")]) is None
    due = next_due(main, [node("a", "Succeeded")])
    assert due is not None and due[0].name == "b" and due[1] == {"a": "Succeeded"}
    assert next_due(main, [node("a", "Succeeded", dag_name="exit")]) == (main.tasks[0], {})


def test_depends_is_evaluated_before_when() -> None:
    omitted = not_run(task("b", depends="a.Failed", when="false"), {"a": "Succeeded"}, {})
    assert omitted == ("Omitted", "omitted: depends condition not met")
    skipped = not_run(task("b", depends="a", when="{{x}} == go"), {"a": "Succeeded"}, {"x": "no"})
    assert skipped == ("Skipped", "when '{{x}} == go' evaluated false")
    assert not_run(task("b", when="{{x}} == go"), {}, {"x": "go"}) is None


def test_a_failure_a_later_task_handles_does_not_fail_the_dag() -> None:
    main = dag(task("bad"), task("cleanup", depends="bad.Failed"))
    assert dag_phase(main, {"bad": "Failed", "cleanup": "Succeeded"}) == "Succeeded"
    unhandled = dag(task("bad"), task("next", depends="bad"))
    assert dag_phase(unhandled, {"bad": "Failed", "next": "Omitted"}) == "Failed"
