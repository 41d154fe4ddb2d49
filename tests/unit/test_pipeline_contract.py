"""The pipeline contract (`rollway.pipeline`) against the templates as Hera renders them, and its
one validator as the CLI and the server both apply it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, get_args

import click
import pytest

from rollway import pipeline
from rollway.apiserver.schemas.apps import Strategy
from rollway.cli.params import Chart
from rollway.errors import InvalidInput
from rollway.steps.cli import STEPS
from rollway.workflows.engine import Parameter
from rollway.workflows.templates import TEMPLATES

Doc = dict[str, Any]


def rendered(name: str) -> Doc:
    doc: Doc = TEMPLATES[name]().to_dict()
    return doc


def templates_of(doc: Doc) -> dict[str, Doc]:
    return {t["name"]: t for t in doc["spec"]["templates"]}


def tasks_of(doc: Doc, dag: str) -> dict[str, Doc]:
    return {t["name"]: t for t in templates_of(doc)[dag]["dag"]["tasks"]}


def outputs_of(template: Doc) -> tuple[str, ...]:
    return tuple(p["name"] for p in (template.get("outputs") or {}).get("parameters") or ())


@pytest.mark.parametrize(
    ("name", "steps"),
    [(pipeline.BUILD_TEMPLATE, pipeline.BUILD_STEPS), (pipeline.DEPLOY_TEMPLATE, pipeline.DEPLOY_STEPS)],
)  # fmt: skip
def test_every_step_of_the_contract_is_a_task_with_its_template_and_outputs(
    name: str, steps: tuple[str, ...]
) -> None:
    doc = rendered(name)
    assert set(TEMPLATES) == set(pipeline.TEMPLATES)
    assert doc["metadata"]["name"] == name
    assert doc["spec"]["entrypoint"] == pipeline.ENTRYPOINT
    assert doc["spec"]["onExit"] == pipeline.EXIT_HANDLER
    templates, tasks = templates_of(doc), tasks_of(doc, pipeline.ENTRYPOINT)
    assert set(tasks) == set(steps)
    for step in steps:
        template = pipeline.STEP_TEMPLATE.get(step, step)
        assert tasks[step]["template"] == template
        if step not in pipeline.GATES:
            assert outputs_of(templates[template]) == pipeline.OUTPUTS[step], step
    report = tasks_of(doc, pipeline.EXIT_HANDLER)[pipeline.REPORT]
    assert outputs_of(templates[report["template"]]) == pipeline.OUTPUTS[pipeline.REPORT]


def test_the_gates_are_the_suspend_steps_and_the_plan_gate_reads_renders_verdict() -> None:
    doc = rendered(pipeline.DEPLOY_TEMPLATE)
    templates, tasks = templates_of(doc), tasks_of(doc, pipeline.ENTRYPOINT)
    suspends = {name for name, t in tasks.items() if "suspend" in templates[t["template"]]}
    assert suspends == set(pipeline.GATES)
    plan_gate = tasks[pipeline.PLAN_APPROVAL]["when"]
    assert f"tasks.{pipeline.RENDER}.outputs.parameters.gate" in plan_gate
    assert plan_gate.count(f"== {pipeline.GATE_BEFORE_APPLY}") == 1
    assert "gate" in pipeline.OUTPUTS[pipeline.RENDER]


def test_labels_strategies_and_defaults_are_the_templates() -> None:
    doc = rendered(pipeline.DEPLOY_TEMPLATE)
    labels = doc["spec"]["workflowMetadata"]["labelsFrom"]
    assert set(labels) == {pipeline.LABEL_APP, pipeline.LABEL_ENV, pipeline.LABEL_DEPLOYMENT}
    params = {p["name"]: p for p in doc["spec"]["arguments"]["parameters"]}
    assert tuple(params["strategy"]["enum"]) == pipeline.STRATEGIES
    assert params["strategy"]["value"] == pipeline.DEFAULT_STRATEGY
    assert set(pipeline.PROGRESSIVE_STRATEGIES) < set(pipeline.STRATEGIES)
    assert all(key.startswith(pipeline.PREFIX) for key in pipeline.ANNOTATIONS.values())
    assert get_args(Strategy) == pipeline.STRATEGIES  # the API's schema (a Literal)


def deploy_arguments(**changes: str) -> dict[str, str]:
    return {
        "deployment-id": "d1", "app": "hello", "env": "dev",
        "coordinates": "com.example:hello:1.0.0", "image-repository": "reg:5000/apps/hello",
        "base-image": "reg:5000/base/jre:21", "namespace": "hello-dev",
        "chart-repo": "http://git/charts.git", **changes,
    }  # fmt: skip


def test_a_closing_brace_pair_is_inert_for_the_server_and_the_cli_alike() -> None:
    """`}}` ends nested JSON; only `{{` starts an Argo expression."""
    nested = json.dumps({"a": {"b": 1}})
    assert nested.endswith("}}")
    validated = pipeline.validate_arguments(
        pipeline.DEPLOY_TEMPLATE, deploy_arguments(values=nested)
    )
    assert validated["values"] == nested
    assert Chart().convert("https://git/x}}.git", None, None) == {"repo": "https://git/x}}.git"}


def test_an_opening_brace_pair_is_refused_by_the_server_and_the_cli_with_one_message() -> None:
    with pytest.raises(InvalidInput) as server:
        pipeline.validate_arguments(pipeline.DEPLOY_TEMPLATE, deploy_arguments(app="{{x}}"))
    assert server.value.field == "app"
    with pytest.raises(click.BadParameter) as cli:
        Chart().convert("https://git/{{x}}.git", None, None)
    assert server.value.message in cli.value.message


def test_other_templates_are_validated_against_what_they_declare() -> None:
    declared = [Parameter("dir", None, ()), Parameter("mode", "a", ("a", "b"))]
    assert pipeline.validate_arguments("parity-x", {"dir": "/d"}, declared) == {
        "dir": "/d",
        "mode": "a",
    }
    for arguments, field in [({"mode": "a"}, "dir"), ({"dir": "/d", "mode": "c"}, "mode"),
                             ({"dir": "/d", "other": "1"}, "other")]:  # fmt: skip
        with pytest.raises(InvalidInput) as err:
            pipeline.validate_arguments("parity-x", arguments, declared)
        assert err.value.field == field


def test_importing_the_contract_loads_no_heavy_module() -> None:
    code = (
        "import sys, rollway.pipeline; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'hera', 'pydantic', 'yaml', 'httpx', 'click', 'sqlalchemy', 'kubernetes'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_container_template_runs_the_rollway_step_of_its_name() -> None:
    for name in pipeline.TEMPLATES:
        for template in templates_of(rendered(name)).values():
            if "container" in template:
                assert template["container"]["command"] == ["rollway-step", template["name"]]
                assert template["name"] in STEPS
