"""WorkflowTemplate documents for the embedded engine's tests: a DAG `main` over templates whose
containers are shell scripts the engine runs as local processes."""

from __future__ import annotations

from typing import Any

SH = "/bin/sh"


def container(name: str, script: str, **extra: Any) -> dict[str, Any]:
    template: dict[str, Any] = {
        "name": name,
        "container": {"image": "busybox", "command": [SH, "-c", script]},
    }
    template.update(extra)
    return template


def workflow(tasks: list[dict[str, Any]], templates: list[dict[str, Any]], **spec: Any) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "test"},
        "spec": {
            "entrypoint": "main",
            "arguments": {
                "parameters": [
                    {"name": "dir"},
                    {"name": "mode", "value": "ok", "enum": ["ok", "fail"]},
                ]
            },  # fmt: skip
            "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates],
            **spec,
        },
    }
