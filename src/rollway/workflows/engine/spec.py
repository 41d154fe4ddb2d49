"""Parse a rendered WorkflowTemplate into the subset of Argo the embedded engine supports.

Anything outside that subset is rejected up front with the path of the offending field, so a
template that would behave differently here than on Argo never starts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import InvalidInput
from ...validation import no_template
from .expressions import references


class TemplateError(InvalidInput):
    """The template uses something the embedded engine does not implement (or is malformed)."""


ALLOWED = {
    "": {"apiVersion", "kind", "metadata", "spec"},
    "metadata": {"name", "labels", "annotations"},
    "spec": {
        "entrypoint", "onExit", "serviceAccountName", "activeDeadlineSeconds", "arguments",
        "templates", "workflowMetadata", "volumeClaimTemplates",
    },
    "template": {"name", "dag", "container", "suspend", "inputs", "outputs",
                 "activeDeadlineSeconds", "retryStrategy"},
    "container": {"image", "command", "args", "env", "volumeMounts", "workingDir"},
    "task": {"name", "template", "arguments", "depends", "when"},
    "retryStrategy": {"limit", "retryPolicy", "expression", "backoff"},
    "backoff": {"duration", "factor", "maxDuration"},
}  # fmt: skip
RETRY_EXPRESSION = re.compile(r"^asInt\(lastRetry\.exitCode\)\s*==\s*(\d+)$")
LABEL_EXPRESSION = re.compile(r"^workflow\.parameters(?:\.([\w-]+)|\['([\w-]+)'\])$")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")


@dataclasses.dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    secret: tuple[str, str] | None = None  # (secret name, key)
    config_map: tuple[str, str] | None = None
    optional: bool = False  # a missing Secret/ConfigMap (or key) leaves the variable unset


@dataclasses.dataclass(frozen=True)
class Retry:
    limit: int
    exit_code: int | None  # retry only on this exit code (None: any failure)
    backoff: float  # seconds before the first retry
    factor: float
    max_backoff: float


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    template: str
    arguments: Mapping[str, str]
    depends: str
    when: str


@dataclasses.dataclass(frozen=True)
class Template:
    name: str
    kind: str  # "dag" | "container" | "suspend"
    inputs: tuple[str, ...] = ()
    input_defaults: Mapping[str, str] = dataclasses.field(default_factory=dict)
    outputs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # name → path
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    mounts: Mapping[str, str] = dataclasses.field(default_factory=dict)  # volume → path
    working_dir: str | None = None
    deadline: float | None = None
    retry: Retry | None = None
    tasks: tuple[Task, ...] = ()
    suspend_seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    default: str | None
    enum: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class WorkflowSpec:
    name: str
    entrypoint: str
    on_exit: str | None
    deadline: float | None
    parameters: tuple[Parameter, ...]
    labels_from: Mapping[str, str]  # label → parameter name
    volumes: tuple[str, ...]
    templates: Mapping[str, Template]
    #: The document itself: journals keep it so a restarted engine parses what was submitted.
    source: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)


def validate_arguments(
    template: str, declared: Sequence[Parameter], arguments: Mapping[str, str]
) -> dict[str, str]:
    """Arguments completed with defaults; unknown, missing, templated or off-enum values refused.

    Argo Server does not check enums on submission, so both backends call this first.
    """
    known = {p.name: p for p in declared}
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise InvalidInput(f"not a parameter of {template}", field=unknown[0])
    values: dict[str, str] = {}
    for param in declared:
        value = arguments.get(param.name, param.default)
        if value is None:
            raise InvalidInput("is required", field=param.name)
        value = str(value)
        no_template(param.name, value)
        if param.enum and value not in param.enum:
            raise InvalidInput(f"must be one of {', '.join(param.enum)}", field=param.name)
        values[param.name] = value
    return values


def seconds(text: str | int | float, where: str) -> float:
    if isinstance(text, int | float) or str(text).isdigit():
        return float(text)
    match = DURATION.match(str(text).strip())
    if not match:
        raise TemplateError(f"unsupported duration {text!r}", field=where)
    value, unit = float(match.group(1)), match.group(2)
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def _only(obj: Mapping[str, Any], allowed: str, where: str) -> None:
    extra = sorted(set(obj) - ALLOWED[allowed])
    if extra:
        raise TemplateError("unsupported by the embedded engine", field=f"{where}.{extra[0]}")


def parse(doc: Mapping[str, Any]) -> WorkflowSpec:
    """Validate and parse a WorkflowTemplate document (as loaded from the rendered YAML)."""
    _only(doc, "", "")
    if doc.get("kind") != "WorkflowTemplate":
        raise TemplateError("must be a WorkflowTemplate", field="kind")
    _only(doc.get("metadata", {}), "metadata", "metadata")
    spec = doc.get("spec") or {}
    _only(spec, "spec", "spec")
    templates = {
        t["name"]: _template(t, f"spec.templates[{t.get('name')}]") for t in spec["templates"]
    }
    params = tuple(
        Parameter(
            p["name"],
            None if p.get("value") is None else str(p["value"]),
            tuple(p.get("enum") or ()),
        )
        for p in (spec.get("arguments") or {}).get("parameters", [])
    )
    labels: dict[str, str] = {}
    for label, source in ((spec.get("workflowMetadata") or {}).get("labelsFrom") or {}).items():
        match = LABEL_EXPRESSION.match(source.get("expression", ""))
        if not match:
            raise TemplateError("only workflow.parameters expressions are supported",
                                field=f"spec.workflowMetadata.labelsFrom.{label}")  # fmt: skip
        labels[label] = match.group(1) or match.group(2)
    parsed = WorkflowSpec(
        name=doc["metadata"]["name"],
        entrypoint=spec["entrypoint"],
        on_exit=spec.get("onExit"),
        deadline=seconds(spec["activeDeadlineSeconds"], "spec.activeDeadlineSeconds")
        if "activeDeadlineSeconds" in spec
        else None,
        parameters=params,
        labels_from=labels,
        volumes=tuple(v["metadata"]["name"] for v in spec.get("volumeClaimTemplates") or ()),
        templates=templates,
        source=doc,
    )
    _check_references(parsed)
    return parsed


def _template(t: Mapping[str, Any], where: str) -> Template:
    _only(t, "template", where)
    kinds = [k for k in ("dag", "container", "suspend") if k in t]
    if len(kinds) != 1:
        raise TemplateError("must have exactly one of dag, container, suspend", field=where)
    inputs = (t.get("inputs") or {}).get("parameters", [])
    outputs = {}
    for out in (t.get("outputs") or {}).get("parameters", []):
        path = (out.get("valueFrom") or {}).get("path")
        if not path or set(out) - {"name", "valueFrom"} or set(out["valueFrom"]) != {"path"}:
            raise TemplateError("only valueFrom.path output parameters are supported",
                                field=f"{where}.outputs.{out.get('name')}")  # fmt: skip
        outputs[out["name"]] = path
    common = dict(
        name=t["name"],
        kind=kinds[0],
        inputs=tuple(p["name"] for p in inputs),
        input_defaults={p["name"]: str(p["value"]) for p in inputs if "value" in p},
        outputs=outputs,
        deadline=seconds(t["activeDeadlineSeconds"], f"{where}.activeDeadlineSeconds")
        if "activeDeadlineSeconds" in t
        else None,
        retry=_retry(t["retryStrategy"], f"{where}.retryStrategy")
        if t.get("retryStrategy")
        else None,
    )
    if "dag" in t:
        tasks = tuple(
            _task(task, f"{where}.dag.tasks[{task.get('name')}]") for task in t["dag"]["tasks"]
        )
        return Template(**common, tasks=tasks)  # type: ignore[arg-type]
    if "suspend" in t:
        duration = (t["suspend"] or {}).get("duration")
        return Template(**common, suspend_seconds=seconds(duration, where) if duration else None)  # type: ignore[arg-type]
    c = t["container"]
    _only(c, "container", f"{where}.container")
    return Template(
        **common,  # type: ignore[arg-type]
        command=tuple(c.get("command") or ()),
        args=tuple(str(a) for a in c.get("args") or ()),
        env=tuple(_env(e, f"{where}.container.env[{e.get('name')}]") for e in c.get("env") or ()),
        mounts={m["name"]: m["mountPath"] for m in c.get("volumeMounts") or ()},
        working_dir=c.get("workingDir"),
    )


def _task(task: Mapping[str, Any], where: str) -> Task:
    _only(task, "task", where)
    args = (task.get("arguments") or {}).get("parameters", [])
    return Task(
        name=task["name"],
        template=task["template"],
        arguments={a["name"]: str(a.get("value", "")) for a in args},
        depends=task.get("depends", ""),
        when=task.get("when", ""),
    )


def _env(e: Mapping[str, Any], where: str) -> EnvVar:
    if "value" in e:
        return EnvVar(e["name"], value=str(e["value"]))
    source = e.get("valueFrom") or {}
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return EnvVar(
            e["name"], secret=(ref["name"], ref["key"]), optional=bool(ref.get("optional"))
        )
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return EnvVar(
            e["name"], config_map=(ref["name"], ref["key"]), optional=bool(ref.get("optional"))
        )
    raise TemplateError("only value, secretKeyRef and configMapKeyRef are supported", field=where)


def _retry(r: Mapping[str, Any], where: str) -> Retry:
    _only(r, "retryStrategy", where)
    if r.get("retryPolicy", "Always") != "Always":
        raise TemplateError("only retryPolicy Always is supported", field=f"{where}.retryPolicy")
    exit_code = None
    if r.get("expression"):
        match = RETRY_EXPRESSION.match(r["expression"].strip())
        if not match:
            raise TemplateError("only `asInt(lastRetry.exitCode) == N` is supported",
                                field=f"{where}.expression")  # fmt: skip
        exit_code = int(match.group(1))
    backoff = r.get("backoff") or {}
    _only(backoff, "backoff", f"{where}.backoff")
    return Retry(
        limit=int(r.get("limit", 0)),
        exit_code=exit_code,
        backoff=seconds(backoff.get("duration", "1s"), f"{where}.backoff.duration"),
        factor=float(backoff.get("factor", 1)),
        max_backoff=seconds(backoff.get("maxDuration", "1h"), f"{where}.backoff.maxDuration"),
    )


def _check_references(spec: WorkflowSpec) -> None:
    """Every `{{…}}` must name something that will exist when the step runs."""
    params = {p.name for p in spec.parameters}
    globals_ = {"workflow.status", "workflow.failures", "workflow.name", "workflow.namespace"}
    for entry in (spec.entrypoint, spec.on_exit):
        if entry and entry not in spec.templates:
            raise TemplateError(f"no template named {entry!r}", field="spec.entrypoint")
    for tpl in spec.templates.values():
        scope = globals_ | {f"workflow.parameters.{p}" for p in params}
        texts = [*tpl.command, *tpl.args, *(e.value or "" for e in tpl.env)]
        if tpl.kind == "dag":
            for task in tpl.tasks:
                if task.template not in spec.templates:
                    raise TemplateError(f"no template named {task.template!r}",
                                        field=f"{tpl.name}.{task.name}.template")  # fmt: skip
                target = spec.templates[task.template]
                missing = set(target.inputs) - set(task.arguments) - set(target.input_defaults)
                if missing:
                    raise TemplateError(f"missing argument {sorted(missing)[0]!r}",
                                        field=f"{tpl.name}.{task.name}.arguments")  # fmt: skip
                texts += [*task.arguments.values(), task.when]
            for other in tpl.tasks:
                for out in spec.templates[other.template].outputs:
                    scope.add(f"tasks.{other.name}.outputs.parameters.{out}")
        scope |= {f"inputs.parameters.{i}" for i in tpl.inputs}
        for text in texts:
            for ref in references(text):
                if ref not in scope:
                    raise TemplateError(
                        f"unknown reference {{{{{ref}}}}}", field=f"templates[{tpl.name}]"
                    )
