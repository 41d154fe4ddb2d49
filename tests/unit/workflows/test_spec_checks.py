"""`depends` and `when` are checked when the template is parsed: a typo fails at once, naming
the field, instead of leaving the workflow waiting for a task that never finishes."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.workflows.engine import TemplateError, parse
from tests.unit.workflows.documents import container, workflow

OUT = {"parameters": [{"name": "phase", "valueFrom": {"path": "/tmp/out/phase"}}]}
TEMPLATES = [container("t", "true", outputs=OUT)]
WHERE = "spec.templates[main].dag.tasks[b]"


def doc_with(**b: Any) -> dict[str, Any]:
    return workflow(
        [{"name": "a", "template": "t"}, {"name": "c", "template": "t"},
         {"name": "b", "template": "t", **b}],
        TEMPLATES,
    )  # fmt: skip


@pytest.mark.parametrize(
    "depends",
    ["a", "a.Succeeded", "a.Failed || a.Errored", "(a.Skipped || a.Omitted) && !c.Daemoned",
     "a.AnySucceeded && c.AllFailed", "!(a.Succeeded)"],
)  # fmt: skip
def test_argos_depends_forms_are_accepted(depends: str) -> None:
    parse(doc_with(depends=depends))


@pytest.mark.parametrize(
    ("depends", "message"),
    [("aa", "unknown task 'aa'"), ("a.Succeded", "unknown result 'Succeded'"),
     ("a.Succeeded &&", "unexpected end"), ("a.Succeeded & c", "cannot parse"),
     ("(a.Succeeded", r"missing '\)'"), ("a.Succeeded c", "unexpected 'c'"),
     ("b", "unknown task 'b'")],
)  # fmt: skip
def test_bad_depends_is_refused_naming_the_field(depends: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as err:
        parse(doc_with(depends=depends))
    assert err.value.field == f"{WHERE}.depends"


def test_a_dependency_cycle_is_refused() -> None:
    doc = workflow(
        [{"name": "a", "template": "t", "depends": "b"}, {"name": "b", "template": "t", "depends": "a"}],
        TEMPLATES,
    )  # fmt: skip
    with pytest.raises(TemplateError, match="cycle") as err:
        parse(doc)
    assert err.value.field is not None and err.value.field.endswith(".depends")


@pytest.mark.parametrize(
    ("when", "message", "field"),
    [("{{tasks.a.outputs.parameters.phase}} =! Paused", "unsupported condition", "when"),
     ("{{tasks.a.outputs.parameters.phase}} == ", "unsupported condition", "when"),
     ("{{tasks.a.outputs.parameters.phase}} == Paused &&", "unsupported condition", "when"),
     ("{{tasks.a.outputs.parameters.phse}} == Paused", "unknown reference", "when"),
     ("{{tasks.c.outputs.parameters.phase}} == Paused", "unknown reference", "when"),
     ("{{tasks.a.status}} == Succeeded", "unknown reference", "when")],
)  # fmt: skip
def test_bad_when_is_refused_naming_the_field(when: str, message: str, field: str) -> None:
    """Outputs of tasks that are not dependencies (c) do not exist yet when b starts."""
    with pytest.raises(TemplateError, match=message) as err:
        parse(doc_with(depends="a", when=when))
    assert err.value.field == f"{WHERE}.{field}"


def test_when_on_a_dependencys_output_is_accepted() -> None:
    parse(doc_with(depends="a", when="{{tasks.a.outputs.parameters.phase}} == Paused"))


def test_argument_from_a_task_that_is_not_an_ancestor_is_refused() -> None:
    doc = workflow(
        [{"name": "a", "template": "t"},
         {"name": "b", "template": "u", "arguments": {"parameters": [
             {"name": "x", "value": "{{tasks.a.outputs.parameters.phase}}"}]}}],
        [*TEMPLATES, container("u", "true", inputs={"parameters": [{"name": "x"}]})],
    )  # fmt: skip
    with pytest.raises(TemplateError, match="unknown reference") as err:
        parse(doc)
    assert err.value.field == f"{WHERE}.arguments.x"
