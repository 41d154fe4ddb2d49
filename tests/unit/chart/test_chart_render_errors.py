"""Helm's refusals, as the render step reports them: one error naming the value and the reason."""

from __future__ import annotations

from rollway.chart.render import rejection

KNOWN = {"replicas", "strategy", "bluegreen", "canary", "image"}


def test_a_schema_failure_names_the_value() -> None:
    stderr = (
        "Error: values don't meet the specifications of the schema(s) in the following chart(s):\n"
        "app:\n- replicas: Invalid type. Expected: integer, given: string\n"
    )
    error = rejection(stderr, KNOWN)
    assert error.field == "replicas"
    assert "Invalid type. Expected: integer, given: string" in error.message


def test_several_schema_failures_are_all_reported_naming_the_first_value() -> None:
    stderr = (
        "Error: values don't meet the specifications of the schema(s) in the following chart(s):\n"
        "app:\n- (root): Additional property replica is not allowed\n"
        "- image.digest: Does not match pattern '^(sha256:[a-f0-9]{64})?$'\n"
    )
    error = rejection(stderr, KNOWN)
    assert error.field == "replica"  # the unknown value's own name
    assert "Additional property replica is not allowed" in error.message
    assert "image.digest: Does not match pattern" in error.message


def test_a_template_failure_names_the_value_its_message_starts_with() -> None:
    stderr = (
        "Error: execution error at (app/templates/rollout.yaml:1:4): bluegreen.autoPromotionSeconds"
        " only works with bluegreen.autoPromotionEnabled: true\n\nUse --debug flag to render out"
        " invalid YAML\n"
    )
    error = rejection(stderr, KNOWN)
    assert error.field == "bluegreen.autoPromotionSeconds"
    assert error.message == (
        "the chart refuses it (app/templates/rollout.yaml:1:4): "
        "only works with bluegreen.autoPromotionEnabled: true"
    )


def test_a_template_failure_without_a_value_path_keeps_the_whole_message() -> None:
    stderr = "Error: execution error at (app/templates/x.yaml:3:1): Something is off here\n"
    error = rejection(stderr, KNOWN)
    assert error.field == "values"
    assert "Something is off here" in error.message


def test_other_helm_failures_blame_the_chart_with_helms_first_line() -> None:
    stderr = 'Error: parse error at (app/templates/x.yaml:2): unexpected "}" in operand\n'
    error = rejection(stderr, KNOWN)
    assert error.field == "chart"
    assert 'unexpected "}" in operand' in error.message
