"""Rendered templates against Argo's own JSON schema and the full-schema CRDs in kube-apiserver."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from rollway.workflows.render import rendered

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def schema(devstack_env: dict[str, str]) -> dict:
    return json.loads(Path(devstack_env["ARGO_WORKFLOWS_JSONSCHEMA"]).read_text())


@pytest.mark.parametrize("filename", sorted(rendered()))
def test_valid_against_argo_json_schema(schema: dict, filename: str) -> None:
    doc = yaml.safe_load(rendered()[filename])
    definition = {**schema, "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.WorkflowTemplate"}
    definition.pop("oneOf")
    jsonschema.Draft202012Validator(definition).validate(doc)


def test_schema_check_can_fail(schema: dict) -> None:
    doc = yaml.safe_load(rendered()["rollway-deploy.yaml"])
    doc["spec"]["templates"][0]["activeDeadlineSeconds"] = {"not": "a number"}
    definition = {**schema, "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.WorkflowTemplate"}
    definition.pop("oneOf")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(definition).validate(doc)


def test_created_in_kube_apiserver_with_full_schema_crds(devstack_env: dict[str, str]) -> None:
    kubectl = ["kubectl", "--kubeconfig", devstack_env["KUBECONFIG"]]
    ns = "rollway-templates-test"
    subprocess.run([*kubectl, "create", "namespace", ns], env=devstack_env, capture_output=True)
    try:
        for text in rendered().values():
            proc = subprocess.run(
                [*kubectl, "-n", ns, "create", "-f", "-", "-o", "name"],
                input=text, env=devstack_env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
        # The full-schema CRD rejects a malformed template: this check is real.
        bad = yaml.safe_load(rendered()["rollway-build.yaml"])
        bad["metadata"]["name"] = "broken"
        bad["spec"]["templates"][0]["retryStrategy"]["limit"] = {"nested": True}
        proc = subprocess.run(
            [*kubectl, "-n", ns, "create", "-f", "-"],
            input=json.dumps(bad), env=devstack_env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode != 0 and "limit" in proc.stderr
    finally:
        subprocess.run([*kubectl, "delete", "namespace", ns, "--wait=false"], env=devstack_env,
                       capture_output=True)  # fmt: skip
