"""Parse a rendered WorkflowTemplate into the subset of Argo the embedded engine supports.

Anything outside that subset is rejected up front with the path of the offending field, so a
template that would behave differently here than on Argo never starts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from ...errors import InvalidInput
from . import transient
from .expressions import ExpressionError, check_depends, check_when, depends_on, references


class TemplateError(InvalidInput):
    """The template uses something the embedded engine does not implement (or is malformed)."""


ALLOWED = {
    "": {"apiVersion", "kind", "metadata", "spec"},
    "metadata": {"name", "labels", "annotations"},
    "spec": {
        "entrypoint", "onExit", "serviceAccountName", "activeDeadlineSeconds", "arguments",
        "templates", "workflowMetadata", "volumeClaimTemplates",
        # Where Argo schedules the pods and how their images are pulled: nothing to do here.
        "nodeSelector", "tolerations", "imagePullSecrets",
        # Whom the pods run as, with which token and scratch volumes: the engine's steps run
        # as the engine's own user with its credentials; mount paths map to local directories.
        "securityContext", "automountServiceAccountToken", "executor", "volumes",
    },
    "template": {"name", "dag", "container", "suspend", "inputs", "outputs",
                 "activeDeadlineSeconds", "retryStrategy", "automountServiceAccountToken"},
    "container": {"image", "command", "args", "env", "volumeMounts", "workingDir",
                  "securityContext"},
    "task": {"name", "template", "arguments", "depends", "when"},
    "retryStrategy": {"limit", "retryPolicy", "expression", "backoff"},
    "backoff": {"duration", "factor", "cap", "maxDuration"},
}  # fmt: skip
#: Retry policies and the failed phases each retries (Argo's RetryPolicyActual).
RETRY_POLICIES = {
    "Always": frozenset({"Failed", "Error"}),
    "OnFailure": frozenset({"Failed"}),
    "OnError": frozenset({"Error"}),
}
LABEL_EXPRESSION = re.compile(r"^workflow\.parameters(?:\.([\w-]+)|\['([\w-]+)'\])$")
#: Go's time.ParseDuration syntax (`1m30s`, `200ms`), what Argo reads durations with.
DURATION = re.compile(
    r"^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))*$"
)
DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclasses.dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    secret: tuple[str, str] | None = None  # (secret name, key)
    config_map: tuple[str, str] | None = None
    optional: bool = False  # a missing Secret/ConfigMap (or key) leaves the variable unset


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Argo's `retryStrategy.backoff`: wait `duration * factor^n`, at most `cap` per wait; all
    attempts of the step within `max_duration` of the first one's start."""

    duration: float
    factor: int | None = None
    cap: float | None = None
    max_duration: float | None = None


@dataclasses.dataclass(frozen=True)
class Retry:
    limit: int
    policy: str  # a key of RETRY_POLICIES
    exit_code: int | None  # retry only on this exit code (None: no expression)
    backoff: Backoff | None
    evictions: bool = False  # and on an eviction (transient.expression)


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


def seconds(text: str | int | float, where: str) -> float:
    """A duration as Argo's ParseStringToDuration reads it: bare integers are seconds."""
    if isinstance(text, int | float) or str(text).isdigit():
        return float(text)
    text = str(text).strip()
    if not DURATION.match(text):
        raise TemplateError(f"unsupported duration {text!r}", field=where)
    return sum(float(value) * UNITS[unit] for value, unit in DURATION_PART.findall(text))


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
        return Template(**common, tasks=tasks)
    if "suspend" in t:
        duration = (t["suspend"] or {}).get("duration")
        return Template(**common, suspend_seconds=seconds(duration, where) if duration else None)
    c = t["container"]
    _only(c, "container", f"{where}.container")
    return Template(
        **common,
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
    exit_code, evictions = None, False
    if r.get("expression"):
        parsed = transient.parse(r["expression"])
        if parsed is None:
            raise TemplateError("only `asInt(lastRetry.exitCode) == N`, alone or with "
                                "transient.expression's eviction clauses, is supported",
                                field=f"{where}.expression")  # fmt: skip
        exit_code, evictions = parsed
    # Argo's default: OnFailure without an expression, Always with one.
    policy = r.get("retryPolicy") or ("Always" if exit_code is not None else "OnFailure")
    if policy not in RETRY_POLICIES:
        raise TemplateError(f"only retryPolicy {', '.join(RETRY_POLICIES)} are supported",
                            field=f"{where}.retryPolicy")  # fmt: skip
    if r.get("limit") is None:  # Argo retries forever without one
        raise TemplateError("a limit is required by the embedded engine", field=f"{where}.limit")
    return Retry(
        limit=_int(r["limit"], f"{where}.limit"),
        policy=policy,
        exit_code=exit_code,
        backoff=_backoff(r["backoff"], f"{where}.backoff") if r.get("backoff") else None,
        evictions=evictions,
    )


def _backoff(b: Mapping[str, Any], where: str) -> Backoff:
    _only(b, "backoff", where)
    if not b.get("duration"):  # Argo fails the step: "no base duration specified"
        raise TemplateError("is required", field=f"{where}.duration")
    optional = {k: seconds(b[k], f"{where}.{k}") for k in ("cap", "maxDuration") if b.get(k)}
    return Backoff(
        duration=seconds(b["duration"], f"{where}.duration"),
        factor=_int(b["factor"], f"{where}.factor") if b.get("factor") is not None else None,
        cap=optional.get("cap"),
        max_duration=optional.get("maxDuration"),
    )


def _int(value: Any, where: str) -> int:
    """An IntOrString field holding an integer (Argo parses it with intstr.Int32)."""
    try:
        return int(str(value))
    except ValueError:
        raise TemplateError(f"{value!r} is not an integer", field=where) from None


def _check_references(spec: WorkflowSpec) -> None:
    """Every `{{…}}` must name something that will exist when the step runs."""
    params = {p.name for p in spec.parameters}
    globals_ = {"workflow.status", "workflow.failures", "workflow.name", "workflow.namespace"}
    for entry, field in ((spec.entrypoint, "spec.entrypoint"), (spec.on_exit, "spec.onExit")):
        if entry and entry not in spec.templates:
            raise TemplateError(f"no template named {entry!r}", field=field)
    for tpl in spec.templates.values():
        scope = globals_ | {f"workflow.parameters.{p}" for p in params}
        where = f"spec.templates[{tpl.name}]"
        if tpl.kind == "dag":
            _check_dag(spec, tpl, scope)
        scope |= {f"inputs.parameters.{i}" for i in tpl.inputs}
        for field, texts in (("command", tpl.command), ("args", tpl.args)):
            for text in texts:
                _check_text(text, scope, f"{where}.container.{field}")
        for env in tpl.env:
            _check_text(env.value or "", scope, f"{where}.container.env[{env.name}]")


def _check_dag(spec: WorkflowSpec, dag: Template, scope: set[str]) -> None:
    """Tasks name templates that exist, `depends` names tasks of this DAG with results Argo
    knows, and arguments and `when` use only the outputs of tasks that run before them."""
    tasks = {t.name: t for t in dag.tasks}
    for task in dag.tasks:
        where = f"spec.templates[{dag.name}].dag.tasks[{task.name}]"
        if task.template not in spec.templates:
            raise TemplateError(f"no template named {task.template!r}", field=f"{where}.template")
        target = spec.templates[task.template]
        missing = set(target.inputs) - set(task.arguments) - set(target.input_defaults)
        if missing:
            raise TemplateError(f"missing argument {sorted(missing)[0]!r}",
                                field=f"{where}.arguments")  # fmt: skip
        try:
            check_depends(task.depends, set(tasks) - {task.name})
        except ExpressionError as err:
            raise TemplateError(err.message, field=f"{where}.depends") from None
        try:
            check_when(task.when)
        except ExpressionError as err:
            raise TemplateError(err.message, field=f"{where}.when") from None
    ancestors = _ancestors(dag, tasks)
    for task in dag.tasks:
        where = f"spec.templates[{dag.name}].dag.tasks[{task.name}]"
        visible = set(scope)
        for before in ancestors[task.name]:
            for out in spec.templates[tasks[before].template].outputs:
                visible.add(f"tasks.{before}.outputs.parameters.{out}")
        for name, value in task.arguments.items():
            _check_text(value, visible, f"{where}.arguments.{name}")
        _check_text(task.when, visible, f"{where}.when")


def _ancestors(dag: Template, tasks: Mapping[str, Task]) -> dict[str, set[str]]:
    """Each task's transitive dependencies; a cycle (which would never start) is refused."""
    found: dict[str, set[str]] = {}

    def visit(name: str, path: tuple[str, ...]) -> set[str]:
        if name in path:
            cycle = " -> ".join((*path[path.index(name) :], name))
            raise TemplateError(f"dependency cycle {cycle}",
                                field=f"spec.templates[{dag.name}].dag.tasks[{name}].depends")  # fmt: skip
        if name not in found:
            direct = set(depends_on(tasks[name].depends))
            found[name] = direct.union(*(visit(d, (*path, name)) for d in direct))
        return found[name]

    for name in tasks:
        visit(name, ())
    return found


def _check_text(text: str, scope: set[str], where: str) -> None:
    for ref in references(text):
        if ref not in scope:
            raise TemplateError(f"unknown reference {{{{{ref}}}}}", field=where)
