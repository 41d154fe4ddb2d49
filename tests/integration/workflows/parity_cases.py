"""Small WorkflowTemplates that pin down how Argo runs a workflow, for the parity suite.

Each case is one template, what to do while it runs (resume, stop, terminate) and what Argo
3.7's controller ends with: the phase, outputs and retries of every step (by display name) and
the workflow's phase. Steps are `python3 -c …`, so any image with Python runs them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rollway.workflows.engine import transient

#: Where steps write their output parameters (the pod's /tmp, a directory on the embedded engine).
OUT = "/tmp/out"
TRANSIENT = {
    "limit": 2,
    "retryPolicy": "Always",
    "expression": transient.expression(75),  # Rollway's own: exit 75 or an eviction
    "backoff": {"duration": "1s", "factor": 2, "cap": "2s"},
}


def python(name: str, code: str, **extra: Any) -> dict[str, Any]:
    """A step running `code`; it finds OUT in $OUT (the embedded engine maps whole values)."""
    container = {"image": "IMAGE", "command": ["python3", "-c", code],
                 "env": [{"name": "OUT", "value": OUT}]}  # fmt: skip
    return {"name": name, "container": container, **extra}


def exits(name: str, code: int, **extra: Any) -> dict[str, Any]:
    return python(name, f"import sys; print('exiting {code}'); sys.exit({code})", **extra)


def writes(name: str, values: dict[str, str], inputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """Writes each output (a literal, or `{{inputs.parameters.x}}`) to OUT/<name>."""
    code = "import os; out = os.environ['OUT']; os.makedirs(out, exist_ok=True); " + "; ".join(
        f"open(os.path.join(out, '{key}'), 'w').write('{value}')" for key, value in values.items()
    )
    extra: dict[str, Any] = {
        "outputs": {"parameters": [{"name": k, "valueFrom": {"path": f"{OUT}/{k}"}}
                                   for k in values]},
    }  # fmt: skip
    if inputs:
        extra["inputs"] = {"parameters": [{"name": i} for i in inputs]}
    return python(name, code, **extra)


def sleeps(name: str, seconds: int, **extra: Any) -> dict[str, Any]:
    return python(name, f"import time; time.sleep({seconds})", **extra)


def task(
    name: str, template: str, depends: str = "", when: str = "", **args: str
) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "template": template}
    if depends:
        found["depends"] = depends
    if when:
        found["when"] = when
    if args:
        found["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in args.items()]}
    return found


#: The exit handler: records the status the workflow ended with as its output.
EXIT_HANDLER = [
    {"name": "exit-handler", "dag": {"tasks": [task("report", "report")]}},
    writes("report", {"status": "{{workflow.status}}"}),
]


@dataclasses.dataclass(frozen=True)
class Step:
    phase: str
    outputs: dict[str, str] = dataclasses.field(default_factory=dict)
    retries: int = 0


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    tasks: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    phase: str  # the workflow's
    steps: dict[str, Step]
    #: (step to wait for while Running, action): "resume", "stop" or "terminate".
    action: tuple[str, str] | None = None
    on_exit: bool = False
    #: Why the Argo side is known to differ (an upstream bug fixed in a later Argo), if it is.
    argo_bug: str = ""

    def document(self, name: str, pods: dict[str, Any], image: str) -> dict[str, Any]:
        """The WorkflowTemplate; `pods` adds spec fields that place the pods (Argo only)."""
        templates = [
            {**t, "container": {**t["container"], "image": image}} if "container" in t else t
            for t in (*self.templates, *(EXIT_HANDLER if self.on_exit else ()))
        ]
        spec: dict[str, Any] = {
            "entrypoint": "main",
            "templates": [{"name": "main", "dag": {"tasks": self.tasks}}, *templates],
            **pods,
        }
        if self.on_exit:
            spec["onExit"] = "exit-handler"
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowTemplate",
            "metadata": {"name": name},
            "spec": spec,
        }


CASES = [
    Case(
        "retries",
        [
            task("transient", "transient"),
            task("permanent", "permanent"),
            task("any", "any"),
            task("fine", "fine"),
        ],
        [
            exits("transient", 75, retryStrategy=TRANSIENT),
            exits("permanent", 3, retryStrategy=TRANSIENT),
            # No expression and no policy: Argo's OnFailure, any exit code retried.
            exits("any", 3, retryStrategy={"limit": 1, "backoff": {"duration": "1s"}}),
            {**writes("fine", {"v": "1"}), "retryStrategy": TRANSIENT},
        ],
        "Failed",
        {
            "transient": Step("Failed", retries=2),
            "permanent": Step("Failed"),
            "any": Step("Failed", retries=1),
            "fine": Step("Succeeded", {"v": "1"}),
        },
    ),  # fmt: skip
    Case(
        "when",
        [
            task("produce", "produce"),
            task(
                "yes",
                "echo",
                "produce",
                "{{tasks.produce.outputs.parameters.phase}} == Paused",
                x="{{tasks.produce.outputs.parameters.phase}}",
            ),
            task(
                "no",
                "echo",
                "produce",
                "{{tasks.produce.outputs.parameters.phase}} == Healthy",
                x="never",
            ),
            task("after-no", "ok", "no"),
            task("only-if-no", "ok", "no.Succeeded"),
            task("fail", "fail"),
            task("after-fail", "ok", "fail"),
            task("on-fail", "ok", "fail.Failed"),
        ],
        [
            writes("produce", {"phase": "Paused"}),
            writes("echo", {"echo": "{{inputs.parameters.x}}"}, inputs=("x",)),
            writes("ok", {"ok": "yes"}),
            exits("fail", 1),
        ],
        "Failed",  # after-fail is a target task and inherits fail's phase
        {
            "produce": Step("Succeeded", {"phase": "Paused"}),
            "yes": Step("Succeeded", {"echo": "Paused"}),
            "no": Step("Skipped"),
            "after-no": Step("Succeeded", {"ok": "yes"}),
            "only-if-no": Step("Omitted"),
            "fail": Step("Failed"),
            "after-fail": Step("Omitted"),
            "on-fail": Step("Succeeded", {"ok": "yes"}),
            "report": Step("Succeeded", {"status": "Failed"}),
        },
        on_exit=True,
    ),  # fmt: skip
    Case(
        "handled-failure",
        [task("fail", "fail"), task("on-fail", "ok", "fail.Failed")],
        [exits("fail", 1), writes("ok", {"ok": "yes"})],
        "Succeeded",  # the only target task succeeded
        {
            "fail": Step("Failed"),
            "on-fail": Step("Succeeded", {"ok": "yes"}),
            "report": Step("Succeeded", {"status": "Succeeded"}),
        },
        on_exit=True,
    ),  # fmt: skip
    Case(
        "suspend-resume",
        [task("gate", "gate"), task("after", "ok", "gate")],
        [{"name": "gate", "suspend": {}}, writes("ok", {"ok": "yes"})],
        "Succeeded",
        {"gate": Step("Succeeded"), "after": Step("Succeeded", {"ok": "yes"})},
        action=("gate", "resume"),
    ),
    Case(
        "stop",
        [task("slow", "slow"), task("next", "ok", "slow")],
        [sleeps("slow", 300), writes("ok", {"ok": "yes"})],
        "Failed",
        # After a shutdown Argo fails the DAG at once: `next` is never even recorded.
        {"slow": Step("Failed"), "report": Step("Succeeded", {"status": "Failed"})},
        action=("slow", "stop"),
        on_exit=True,
        argo_bug="Argo < 3.7.17 fails a DAG exit handler on Stop before it runs, leaving its "
        "step Pending (argoproj/argo-workflows#13964, fixed by #16488 in v3.7.17)",
    ),  # fmt: skip
    Case(
        "stop-at-gate",
        [
            task("gate", "gate"),
            task("after", "ok", "gate"),
            task("last", "ok", "after"),
            task("other", "ok", "gate.Failed"),
        ],
        [{"name": "gate", "suspend": {}}, writes("ok", {"ok": "yes"})],
        "Failed",
        # The shutdown fails the gate, then one last pass: `other` is due but gets no pod.
        {
            "gate": Step("Failed"),
            "after": Step("Omitted"),
            "last": Step("Omitted"),
            "other": Step("Failed"),
        },
        action=("gate", "stop"),
    ),  # fmt: skip
    Case(
        "terminate",
        [task("slow", "slow"), task("next", "ok", "slow")],
        [sleeps("slow", 300), writes("ok", {"ok": "yes"})],
        "Failed",
        {"slow": Step("Failed")},  # no exit handler
        action=("slow", "terminate"),
        on_exit=True,
    ),
    Case(
        "deadline",
        [task("slow", "slow"), task("next", "ok", "slow")],
        [sleeps("slow", 300, activeDeadlineSeconds=5), writes("ok", {"ok": "yes"})],
        "Failed",
        {"slow": Step("Failed"), "next": Step("Omitted")},
    ),
]
