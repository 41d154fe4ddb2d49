"""A step whose image cannot be pulled, as the Argo backend reads it from a pending node's message
(`<waiting reason>: <kubelet's message>`, the messages the devstack's kubelet and containerd gave)."""

from __future__ import annotations

from hera.workflows.models import NodeStatus

from rollway.workflows.backends.argo import steps
from rollway.workflows.backends.image_pull import pull_failure

REF = "10.245.0.1:25000/rollway/rollway:no-such-tag"
NOT_FOUND = (
    f'ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "{REF}": '
    f'failed to resolve reference "{REF}": {REF}: not found'
)
UNAUTHORIZED = (
    f'ErrImagePull: failed to pull and unpack image "{REF}": failed to resolve reference '
    f'"{REF}": pulling from host 10.245.0.1:25000 failed with status code '
    "[manifests no-such-tag]: 401 Unauthorized"
)


def test_the_image_and_the_registrys_answer_in_one_line() -> None:
    assert pull_failure(NOT_FOUND) == f'image "{REF}" cannot be pulled: {REF}: not found'
    assert pull_failure(UNAUTHORIZED) == (
        f'image "{REF}" cannot be pulled: pulling from host 10.245.0.1:25000 failed with status '
        "code [manifests no-such-tag]: 401 Unauthorized"
    )


def test_the_same_line_while_the_kubelet_backs_off() -> None:
    """ImagePullBackOff carries the last pull's error: the line does not flap."""
    backoff = f'ImagePullBackOff: Back-off pulling image "{REF}": {NOT_FOUND}'
    assert pull_failure(backoff) == pull_failure(NOT_FOUND)


def test_a_reference_that_does_not_parse() -> None:
    message = (
        'InvalidImageName: Failed to apply default image tag "Bad//Ref": couldn\'t parse image '
        'name "Bad//Ref": invalid reference format'
    )
    assert pull_failure(message) == 'image "Bad//Ref" cannot be pulled: invalid reference format'


def test_other_pending_reasons_are_not_pull_failures() -> None:
    assert pull_failure("ContainerCreating") == ""
    assert pull_failure("PodInitializing") == ""
    assert pull_failure("Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.") == ""
    assert pull_failure("") == ""


def pod(phase: str, message: str, **extra: object) -> NodeStatus:
    return NodeStatus(id="w1-1", name="w1.resolve-artifact", display_name="resolve-artifact",
                      type="Pod", phase=phase, message=message, template_name="resolve-artifact",
                      **extra)  # fmt: skip


def test_a_pending_pod_that_cannot_pull_its_image_cannot_start() -> None:
    (step,) = steps("w1", {"w1-1": pod("Pending", NOT_FOUND)})
    assert step.cannot_start == pull_failure(NOT_FOUND)


def test_a_finished_pod_is_not_waiting_for_anything() -> None:
    (step,) = steps("w1", {"w1-1": pod("Failed", NOT_FOUND)})
    assert step.cannot_start == ""


def test_a_retried_step_is_judged_by_its_current_attempt() -> None:
    retry = NodeStatus(id="w1-0", name="w1.resolve-artifact", display_name="resolve-artifact",
                       type="Retry", phase="Running", children=["w1-1"],
                       template_name="resolve-artifact")  # fmt: skip
    attempt = pod("Pending", UNAUTHORIZED).model_copy(
        update={"name": "w1.resolve-artifact(0)", "display_name": "resolve-artifact(0)"}
    )
    (step,) = steps("w1", {"w1-0": retry, "w1-1": attempt})
    assert (step.name, step.cannot_start) == ("resolve-artifact", pull_failure(UNAUTHORIZED))


def test_the_exit_handlers_steps_are_told_apart() -> None:
    report = pod("Pending", NOT_FOUND).model_copy(
        update={"name": "w1.onExit.report", "display_name": "report"}
    )
    found = {n.name: n.on_exit for n in steps("w1", {"w1-1": pod("Pending", ""), "w1-2": report})}
    assert found == {"resolve-artifact": False, "report": True}
