"""The embedded engine: runs a parsed WorkflowTemplate on this machine, step by step.

It walks the DAG like Argo's controller does — `depends`, `when`, parameter and output
substitution, retries with backoff, deadlines, suspend/resume, stop/terminate/retry and the exit
handler — running each container's command as a local process. State is journalled to disk after
every change, so a restarted engine picks up the workflows that were running.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from ...errors import Conflict, InvalidInput, NotFound
from ...pipeline import validate_arguments
from .expressions import depends_on, evaluate_depends, evaluate_when, substitute
from .retries import Again, Attempt, GiveUp, Wait, decide
from .spec import Template, WorkflowSpec

FINAL = {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}
FAILED = {"Failed", "Error"}
#: Seconds a follower waits for a change before it looks again (at a log file, a cancel).
POLL = 0.5


class Cancelled(Protocol):
    """A reader's cancel of a stream (`backends.Cancel`): a follower stops once it is set."""

    cancelled: bool


class SecretSource(Protocol):
    """Where secretKeyRef / configMapKeyRef values come from (a kubelet reads the cluster)."""

    def secret(self, name: str, key: str) -> str: ...

    def config_map(self, name: str, key: str) -> str: ...


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_image_env() -> dict[str, str]:
    """The step image's ENV when steps run on this machine: where the tools are, a home and a
    locale — as an image's ENV gives them — and nothing else of this process's environment."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
    }


class Engine:
    """Runs workflows in threads; one JSON journal and one log dir per workflow under state_dir.

    A step's process gets exactly what a pod's container would: `image_env` (the image's ENV;
    default `host_image_env()`), the template's `env`, and — standing in for the service
    account token the kubelet mounts — `KUBECONFIG=service_account_kubeconfig` when one is set.
    Nothing else of the engine's own environment reaches it.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        namespace: str = "rollway",
        secrets: SecretSource | None = None,
        image_env: Mapping[str, str] | None = None,
        service_account_kubeconfig: str | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.namespace = namespace
        self.secrets = secrets
        env = dict(host_image_env() if image_env is None else image_env)
        # `rollway-step` lives next to the interpreter running the engine.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
        if service_account_kubeconfig:
            env["KUBECONFIG"] = service_account_kubeconfig
        self.base_env = env
        self._cond = threading.Condition()
        self._runs: dict[str, _Run] = {}
        self._recover()

    # -- public API --------------------------------------------------------------------------

    def submit(
        self,
        spec: WorkflowSpec,
        arguments: Mapping[str, str],
        *,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Validate the arguments against the template, journal the workflow, then start it."""
        params = validate_arguments(spec.name, arguments, spec.parameters)
        name = name or f"{spec.name}-{uuid.uuid4().hex[:5]}"
        with self._cond:
            if name in self._runs or self._journal(name).exists():
                raise Conflict(f"workflow {name!r} already exists", field="name")
            state = {
                "name": name,
                "namespace": self.namespace,
                "template": spec.name,
                "labels": {**{k: params[p] for k, p in spec.labels_from.items()}, **(labels or {})},
                "parameters": params,
                "phase": "Running",
                "startedAt": now(),
                "finishedAt": None,
                "message": "",
                "shutdown": None,
                "nodes": {},
                "version": 0,
                "spec": spec.source,
            }
            run = _Run(self, spec, state)
            self._runs[name] = run
            run.save()
        run.start()
        return run.snapshot()

    def get(self, name: str) -> dict[str, Any]:
        return self._run(name).snapshot()

    def list(self, labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        with self._cond:
            runs = list(self._runs.values())
        wanted = dict(labels or {})
        return [
            r.snapshot()
            for r in runs
            if all(r.state["labels"].get(k) == v for k, v in wanted.items())
        ]

    def resume(self, name: str, node_field_selector: str) -> None:
        """Resume suspend nodes matched like Argo's `nodeFieldSelector` (displayName=…)."""
        run = self._run(name)
        key, _, value = node_field_selector.partition("=")
        field = {"displayName": "name", "templateName": "template", "id": "id"}.get(key.strip())
        if field is None:
            raise InvalidInput("supported selectors: displayName=, templateName=, id=",
                               field="nodeFieldSelector")  # fmt: skip
        with self._cond:
            matched = [
                n for n in run.state["nodes"].values()
                if n["type"] == "Suspend" and n["phase"] == "Running" and n[field] == value.strip()
            ]  # fmt: skip
            if not matched:
                raise Conflict(
                    f"workflow {name!r} has no suspended node with {node_field_selector}"
                )
            for node in matched:
                run.finish_node(node, "Succeeded", "resumed")
            run.save()

    def stop(self, name: str) -> None:
        """End running steps; the exit handler still runs (Argo's `stop`)."""
        self._run(name).shutdown("Stop")

    def terminate(self, name: str) -> None:
        """End running steps and skip the exit handler (Argo's `terminate`)."""
        self._run(name).shutdown("Terminate")

    def retry(self, name: str) -> dict[str, Any]:
        """Re-run what failed (and what it blocked) of a finished, failed workflow."""
        run = self._run(name)
        with self._cond:
            if run.state["phase"] not in FAILED:
                raise Conflict(f"workflow {name!r} is {run.state['phase']}; only failed ones retry")
            nodes = run.state["nodes"]
            for node_id, node in list(nodes.items()):
                if node["phase"] in FAILED | {"Omitted"} or node["dag"] != run.spec.entrypoint:
                    del nodes[node_id]
            run.state.update(phase="Running", finishedAt=None, message="", shutdown=None)
            run.save()
        run.start()
        return run.snapshot()

    def watch(
        self, name: str, timeout: float | None = None, cancel: Cancelled | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield a snapshot now and after every change, until the workflow finishes (or the
        timeout passes, or the reader cancels)."""
        run = self._run(name)
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = -1
        while True:
            with self._cond:
                while run.state["version"] == seen:
                    left = None if deadline is None else deadline - time.monotonic()
                    if (left is not None and left <= 0) or (cancel and cancel.cancelled):
                        return
                    self._cond.wait(timeout=min(left if left is not None else 5.0, POLL))
                seen = run.state["version"]
                snap = run.snapshot()
            yield snap
            if snap["phase"] not in ("Running", "Pending"):
                return

    def logs(
        self,
        name: str,
        node: str | None = None,
        follow: bool = False,
        cancel: Cancelled | None = None,
    ) -> Iterator[str]:
        """Lines of the steps' logs as `<step>: <line>`; with follow, until the workflow ends
        (or the reader cancels)."""
        run = self._run(name)
        offsets: dict[str, int] = {}
        while True:
            finished = run.state["phase"] not in ("Running", "Pending")
            for entry in run.ordered_nodes():
                if entry["type"] != "Pod" or (node and entry["name"] != node):
                    continue
                path = run.log_path(entry)
                if not path.exists():
                    continue
                with path.open("rb") as fh:
                    fh.seek(offsets.get(entry["id"], 0))
                    data = fh.read()
                complete = data[: data.rfind(b"\n") + 1]
                offsets[entry["id"]] = offsets.get(entry["id"], 0) + len(complete)
                for line in complete.decode(errors="replace").splitlines():
                    yield f"{entry['name']}: {line}"
            if not follow or finished or (cancel and cancel.cancelled):
                return
            with self._cond:
                self._cond.wait(timeout=POLL)

    # -- internals ---------------------------------------------------------------------------

    def _run(self, name: str) -> _Run:
        with self._cond:
            run = self._runs.get(name)
        if run is None:
            raise NotFound(f"workflow {name!r} not found")
        return run

    def _journal(self, name: str) -> Path:
        return self.state_dir / name / "workflow.json"

    def _recover(self) -> None:
        """Load every journal; restart workflows that were running when the engine stopped."""
        from .spec import parse

        for journal in sorted(self.state_dir.glob("*/workflow.json")):
            state = json.loads(journal.read_text())
            run = _Run(self, parse(state["spec"]), state)
            self._runs[state["name"]] = run
            if state["phase"] in ("Running", "Pending"):
                for node_id, node in list(state["nodes"].items()):
                    if node["type"] == "Pod" and node["phase"] == "Running":
                        _kill_group(node.get("pid"))
                        del state["nodes"][node_id]  # steps are idempotent: run it again
                state["message"] = "resumed after an engine restart"
                with self._cond:
                    run.save()
                run.start()


def dag_phase(dag: Template, phases: Mapping[str, str]) -> str:
    """A finished DAG's phase as Argo's assessDAGPhase finds it: from its target tasks (those
    no other task depends on). A Skipped or Omitted target takes the phase of the last completed
    task on a path to it, a failure winning; so a failure a later task handles (`x.Failed`)
    does not fail the DAG."""
    parents = {t.name: depends_on(t.depends) for t in dag.tasks}
    depended = {p for names in parents.values() for p in names}
    memo: dict[str, str] = {}

    def branch(name: str) -> str:
        if name not in memo:
            own = phases.get(name, "Succeeded")
            if own in ("Succeeded", *FAILED):
                memo[name] = own
            else:
                inherited = [branch(p) for p in parents[name]]
                memo[name] = next((p for p in inherited if p in FAILED), "Succeeded")
        return memo[name]

    targets = [branch(t.name) for t in dag.tasks if t.name not in depended]
    return next((p for p in targets if p in FAILED), "Succeeded")


def _kill_group(pid: int | None, sig: int = signal.SIGKILL) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


class _Run:
    """One workflow: its journal, its threads and its running processes."""

    def __init__(self, engine: Engine, spec: WorkflowSpec, state: dict[str, Any]) -> None:
        self.engine, self.spec, self.state = engine, spec, state
        self.cond = engine._cond
        self.dir: Path = engine.state_dir / state["name"]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        #: The DAGs being walked, with their extra scope (the exit handler's workflow.status).
        self.active: dict[str, tuple[Template, Mapping[str, str] | None]] = {}

    # journal

    def save(self) -> None:
        """Persist and wake watchers; callers hold the condition."""
        self.state["version"] += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "workflow.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.dir / "workflow.json")
        self.cond.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self.cond:
            state: dict[str, Any] = json.loads(json.dumps(self.state))
        state.pop("spec", None)
        return state

    def ordered_nodes(self) -> list[dict[str, Any]]:
        with self.cond:
            nodes = list(self.state["nodes"].values())
        return sorted(nodes, key=lambda n: (n.get("startedAt") or "~", n["id"]))

    def log_path(self, node: dict[str, Any]) -> Path:
        return self.dir / "logs" / f"{node['id']}.log"

    # lifecycle

    def start(self) -> None:
        threading.Thread(target=self._main, name=f"wf-{self.state['name']}", daemon=True).start()

    def shutdown(self, strategy: str, message: str | None = None) -> None:
        with self.cond:
            if self.state["phase"] not in ("Running", "Pending") or self.state["shutdown"]:
                return
            self.state["shutdown"] = strategy
            self.state["message"] = message or f"Stopped with strategy '{strategy}'"
            for node in self.state["nodes"].values():
                if node["phase"] == "Running" and node["type"] == "Suspend":
                    self.finish_node(node, "Failed", self.state["message"])
            for dag, extra in list(self.active.values()):
                self._last_pass(dag, extra)
            procs = list(self.procs.values())
            self.save()
        for proc in procs:
            _kill_group(proc.pid, signal.SIGTERM)

    def _last_pass(self, dag: Template, extra: Mapping[str, str] | None) -> None:
        """Argo's pass over a DAG in the reconcile that shuts it down: tasks whose dependencies
        have all finished (steps still running do not count) end Omitted or Skipped when not
        due, Failed when due — no pod starts — and nothing is evaluated after it."""
        strategy = self.state["shutdown"]
        while (task := self._next_due(dag)) is not None:
            task, results = task
            if not evaluate_depends(task.depends, results):
                self._add_node(dag, task, "Omitted", "omitted: depends condition not met")
            elif not evaluate_when(substitute(task.when, self._scope(extra))):
                self._add_node(dag, task, "Skipped", f"when '{task.when}' evaluated false")
            else:
                self._add_node(dag, task, "Failed", f"workflow shutdown with strategy: {strategy}")

    def _next_due(self, dag: Template) -> tuple[Any, dict[str, str]] | None:
        """A task of `dag` not started yet whose dependencies have all finished, if any."""
        nodes = {n["name"]: n for n in self.state["nodes"].values() if n["dag"] == dag.name}
        results = {k: n["phase"] for k, n in nodes.items() if n["phase"] in FINAL}
        for task in dag.tasks:
            if task.name not in nodes and all(d in results for d in depends_on(task.depends)):
                return task, results
        return None

    def finish_node(self, node: dict[str, Any], phase: str, message: str = "") -> None:
        node.update(phase=phase, finishedAt=now(), message=message)

    def _main(self) -> None:
        deadline = self.spec.deadline
        timer = None
        if deadline:
            started = dt.datetime.strptime(self.state["startedAt"], "%Y-%m-%dT%H:%M:%SZ")
            elapsed = dt.datetime.now(dt.UTC) - started.replace(tzinfo=dt.UTC)
            left = deadline - elapsed.total_seconds()
            timer = threading.Timer(
                max(left, 0), self.shutdown, ("Stop", "Max duration limit exceeded")
            )
            timer.daemon = True
            timer.start()
        try:
            phase = self._dag(self.spec.templates[self.spec.entrypoint])
            with self.cond:
                strategy = self.state["shutdown"]
            if strategy:
                phase = "Failed"
            if self.spec.on_exit and strategy != "Terminate":
                failures = [
                    {"displayName": n["name"], "message": n["message"], "templateName": n["template"],
                     "phase": n["phase"]}
                    for n in self.ordered_nodes() if n["phase"] in FAILED
                ]  # fmt: skip
                extra = {"workflow.status": phase, "workflow.failures": json.dumps(failures)}
                with self.cond:
                    self.state["shutdown"] = None  # the exit handler itself must run
                exit_phase = self._dag(self.spec.templates[self.spec.on_exit], extra)
                if exit_phase in FAILED and phase == "Succeeded":
                    phase = "Failed"
                    with self.cond:
                        self.state["message"] = "exit handler failed"
        except Exception as err:  # an engine bug must still end the workflow visibly
            phase = "Error"
            with self.cond:
                self.state["message"] = f"engine error: {err}"
        finally:
            if timer:
                timer.cancel()
        with self.cond:
            failed = next((n for n in self.ordered_nodes() if n["phase"] in FAILED), None)
            if phase in FAILED and not self.state["message"] and failed:
                self.state["message"] = f"{failed['name']}: {failed['message']}"
            self.state.update(phase=phase, finishedAt=now())
            self.save()

    # DAG

    def _scope(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        scope = {f"workflow.parameters.{k}": v for k, v in self.state["parameters"].items()}
        scope["workflow.name"] = self.state["name"]
        scope["workflow.namespace"] = self.state["namespace"]
        for node in self.state["nodes"].values():
            for key, value in node.get("outputs", {}).items():
                scope[f"tasks.{node['name']}.outputs.parameters.{key}"] = value
        scope.update(extra or {})
        return scope

    def _dag(self, dag: Template, extra: Mapping[str, str] | None = None) -> str:
        threads: list[threading.Thread] = []
        results: dict[str, str] = {}
        with self.cond:
            self.active[dag.name] = (dag, extra)
            while True:
                if self.state["shutdown"]:
                    # Argo fails a DAG as soon as the workflow is shut down (assessDAGPhase);
                    # `shutdown` made the last pass over it.
                    shutdown = True
                    break
                due = self._next_due(dag)
                if due is None:
                    nodes = [n for n in self.state["nodes"].values() if n["dag"] == dag.name]
                    results = {n["name"]: n["phase"] for n in nodes if n["phase"] in FINAL}
                    if len(results) == len(dag.tasks):
                        shutdown = False
                        break
                    self.cond.wait(timeout=1.0)
                    continue
                task, results = due
                # Argo's order: depends, then when.
                scope = self._scope(extra)
                if not evaluate_depends(task.depends, results):
                    self._add_node(dag, task, "Omitted", "omitted: depends condition not met")
                elif not evaluate_when(substitute(task.when, scope)):
                    self._add_node(dag, task, "Skipped", f"when '{task.when}' evaluated false")
                else:
                    node = self._add_node(dag, task, "Running")
                    thread = threading.Thread(
                        target=self._task, args=(node, task, scope), daemon=True
                    )
                    threads.append(thread)
                    thread.start()
                self.save()
            self.active.pop(dag.name, None)
        for thread in threads:
            thread.join()
        return "Failed" if shutdown else dag_phase(dag, results)

    def _add_node(self, dag: Template, task: Any, phase: str, message: str = "") -> dict[str, Any]:
        template = self.spec.templates[task.template]
        kind = {"container": "Pod", "suspend": "Suspend", "dag": "DAG"}[template.kind]
        node = {
            "id": f"{self.state['name']}-{dag.name}-{task.name}",
            "name": task.name,
            "dag": dag.name,
            "type": kind if phase not in ("Skipped", "Omitted") else "Skipped",
            "template": task.template,
            "phase": phase,
            "startedAt": now() if phase == "Running" else None,
            "finishedAt": now() if phase in FINAL else None,
            "message": message,
            "outputs": {},
            "retries": 0,
        }
        self.state["nodes"][node["id"]] = node
        return node

    def _task(self, node: dict[str, Any], task: Any, scope: dict[str, str]) -> None:
        template = self.spec.templates[task.template]
        inputs = {**template.input_defaults}
        inputs.update({k: substitute(v, scope) for k, v in task.arguments.items()})
        scope = {**scope, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        try:
            if template.kind == "suspend":
                self._suspend(node, template)
            elif template.kind == "container":
                self._container(node, template, scope)
            else:
                raise InvalidInput("nested DAG templates are not supported", field=template.name)
        except Exception as err:
            with self.cond:
                self.finish_node(node, "Error", str(err))
                self.save()

    def _suspend(self, node: dict[str, Any], template: Template) -> None:
        deadline = (
            None
            if template.suspend_seconds is None
            else time.monotonic() + template.suspend_seconds
        )
        with self.cond:
            while node["phase"] == "Running":
                if deadline is not None and time.monotonic() >= deadline:
                    self.finish_node(node, "Succeeded", "suspend duration elapsed")
                    self.save()
                    return
                self.cond.wait(timeout=1.0)

    # containers as local processes

    def _container(self, node: dict[str, Any], template: Template, scope: dict[str, str]) -> None:
        volumes = {path: self.dir / "volumes" / name for name, path in template.mounts.items()}
        out_dirs = {str(Path(p).parent) for p in template.outputs.values()}
        env = dict(self.engine.base_env)
        # Only what the template sets names container paths; the image's own PATH and HOME are
        # this machine's and stay as they are (a venv under /tmp is not the /tmp mount).
        templated = {var.name for var in template.env}
        for var in template.env:
            if var.secret or var.config_map:
                kind, ref = ("secret", var.secret) if var.secret else ("config_map", var.config_map)
                try:
                    env[var.name] = self._secret(kind, *ref)  # type: ignore[misc]
                except NotFound:
                    if not var.optional:
                        raise
                    env.pop(var.name, None)
            else:
                env[var.name] = substitute(var.value or "", scope)
        argv = [substitute(a, scope) for a in (*template.command, *template.args)]
        log = self.log_path(node)
        log.parent.mkdir(parents=True, exist_ok=True)
        attempts: list[Attempt] = []
        until: float | None = None  # backoff.maxDuration: no attempt runs past it
        while True:
            outputs = self.dir / "outputs" / f"{node['name']}-{len(attempts)}"
            mapping = {
                **{k: str(v) for k, v in volumes.items()},
                **{d: str(outputs) for d in out_dirs},
            }
            for local in mapping.values():
                Path(local).mkdir(parents=True, exist_ok=True)
            cwd = _map(template.working_dir or next(iter(template.mounts.values()), ""), mapping)
            deadline = template.deadline
            if until is not None:
                left = until - time.monotonic()
                deadline = left if deadline is None else min(deadline, left)
            started = time.monotonic()
            code, message = self._process(
                node,
                [_map(a, mapping) for a in argv],
                {k: _map(v, mapping) if k in templated else v for k, v in env.items()},
                cwd or str(self.dir),
                log,
                deadline,
            )
            with self.cond:
                if code == 0:
                    self._succeed(node, template, mapping)
                    return
                attempts.append(Attempt("Failed", message, code, started, time.monotonic()))
                next_try = self._next_try(node, template, attempts)
                if next_try is None:
                    stopped = self.state["shutdown"] and self.state["message"]
                    self.finish_node(node, "Failed", stopped or message)
                    self.save()
                    return
                until = next_try.deadline

    def _succeed(
        self, node: dict[str, Any], template: Template, mapping: Mapping[str, str]
    ) -> None:
        """Read the outputs the step wrote; one missing is an Error, as on Argo."""
        values, missing = {}, []
        for name, path in template.outputs.items():
            written = Path(_map(path, mapping))
            if written.exists():
                values[name] = written.read_text().strip()
            else:
                missing.append(name)
        node["outputs"] = values
        if missing:
            self.finish_node(node, "Error", f"output parameter {missing[0]!r} was not written")
        else:
            self.finish_node(node, "Succeeded")
        self.save()

    def _next_try(
        self, node: dict[str, Any], template: Template, attempts: list[Attempt]
    ) -> Again | None:
        """After a failed attempt: back off and go again, or give up (None); holds the lock."""
        retry = template.retry
        while retry is not None:
            if self.state["shutdown"]:
                return None
            decision = decide(retry, attempts, time.monotonic())
            if isinstance(decision, GiveUp):
                return None
            if isinstance(decision, Again):
                node["retries"] = len(attempts)
                node["message"] = ""
                self.save()
                return decision
            assert isinstance(decision, Wait)
            node["message"] = decision.message
            self.save()
            while time.monotonic() < decision.until and not self.state["shutdown"]:
                self.cond.wait(timeout=decision.until - time.monotonic())
        return None

    def _process(
        self, node: dict[str, Any], argv: list[str], env: dict[str, str], cwd: str, log: Path,
        deadline: float | None,
    ) -> tuple[int | None, str]:  # fmt: skip
        """Run one attempt; returns (exit code or None on deadline, message for the node)."""
        with log.open("ab") as out:
            start = out.tell()
            try:
                proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                        stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
            except OSError as err:
                return 127, f"cannot start {argv[0]!r}: {err.strerror}"
            with self.cond:
                self.procs[node["id"]] = proc
                node["pid"] = proc.pid
                self.save()
                if self.state["shutdown"]:  # it came while the process was starting
                    _kill_group(proc.pid, signal.SIGTERM)
            try:
                code: int | None = proc.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait()
                code = None
            finally:
                with self.cond:
                    self.procs.pop(node["id"], None)
        if code is None:
            return None, "Pod was active on the node longer than the specified deadline"
        if code == 0:
            return 0, ""
        with log.open("rb") as fh:
            fh.seek(start)
            lines = [ln for ln in fh.read().decode(errors="replace").splitlines() if ln.strip()]
        detail = lines[-1] if lines else "no output"
        return code, f"exit code {code}: {detail}"

    def _secret(self, kind: str, name: str, key: str) -> str:
        if self.engine.secrets is None:
            raise InvalidInput(f"no secret source configured to read {kind} {name}/{key}")
        getter = getattr(self.engine.secrets, kind)
        return str(getter(name, key))


def _map(text: str, mapping: Mapping[str, str]) -> str:
    """Rewrite container paths (mount points, output dirs) to their local directories; a path
    already local (an earlier step's output) stays, though it may start like a mount (`/tmp`)."""
    if any(text == local or text.startswith(local.rstrip("/") + "/") for local in mapping.values()):
        return text
    for container_path in sorted(mapping, key=len, reverse=True):
        if text == container_path or text.startswith(container_path.rstrip("/") + "/"):
            return mapping[container_path] + text[len(container_path) :]
    return text
