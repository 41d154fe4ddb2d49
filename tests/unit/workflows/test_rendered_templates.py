"""The committed YAML under workflow-templates/ is exactly what the Hera definitions render."""

from __future__ import annotations

import yaml

from devstack.core import REPO
from rollway.workflows.engine import parse
from rollway.workflows.parameters import DEPLOY_PARAMS
from rollway.workflows.render import main as render_main
from rollway.workflows.render import rendered


def test_committed_yaml_matches_a_fresh_render() -> None:
    assert render_main([str(REPO / "workflow-templates"), "--check"]) == 0


def test_drift_is_detected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    render_main([str(tmp_path)])
    (tmp_path / "rollway-deploy.yaml").write_text("tampered\n")
    assert render_main([str(tmp_path), "--check"]) == 1


def test_embedded_engine_accepts_every_rendered_template() -> None:
    for text in rendered().values():
        parse(yaml.safe_load(text))


def test_deploy_template_declares_every_pipeline_parameter_with_descriptions() -> None:
    doc = yaml.safe_load(rendered()["rollway-deploy.yaml"])
    declared = {p["name"]: p for p in doc["spec"]["arguments"]["parameters"]}
    assert list(declared) == [p.name for p in DEPLOY_PARAMS]
    assert all(p.get("description") for p in declared.values())
    assert declared["strategy"]["enum"] == ["bluegreen", "canary", "rolling"]
    steps = {t["name"]: t for t in doc["spec"]["templates"] if "container" in t}
    for name, template in steps.items():
        env = template["container"]["env"]
        # Credentials only ever come from Secrets, never from parameters or literal values.
        for var in env:
            if var["name"].endswith(("PASSWORD", "TOKEN", "USERNAME", "SECRET")):
                assert "secretKeyRef" in var["valueFrom"], (name, var)
        assert int(template["activeDeadlineSeconds"]) > 0
    assert doc["spec"]["onExit"] == "exit-handler"
    assert doc["spec"]["serviceAccountName"] == "rollway-workflow"


def test_build_image_gets_the_platform_registry_from_the_platform_config_map() -> None:
    """Without it, a pod's build-image could not tell the platform registry from an app's."""
    for name in ("rollway-build.yaml", "rollway-deploy.yaml"):
        doc = yaml.safe_load(rendered()[name])
        build = next(t for t in doc["spec"]["templates"] if t["name"] == "build-image")
        env = {e["name"]: e for e in build["container"]["env"]}
        assert env["ROLLWAY_REGISTRY"]["valueFrom"] == {
            "configMapKeyRef": {"name": "rollway-platform", "key": "registry"}
        }
        assert "ROLLWAY_REGISTRY_PASSWORD" in env


def test_retries_wait_at_most_the_cap_and_set_no_total_window() -> None:
    """In Argo 3.7 `maxDuration` is the whole retry window and `cap` the longest wait."""
    for text in rendered().values():
        for template in yaml.safe_load(text)["spec"]["templates"]:
            backoff = (template.get("retryStrategy") or {}).get("backoff")
            if backoff is not None:
                assert backoff == {"duration": "2s", "factor": "2", "cap": "2m"}, template["name"]
