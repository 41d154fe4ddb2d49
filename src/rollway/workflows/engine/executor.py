"""The local executor: a container template's command run as a process on this machine.

The process gets what the pod's container would — the image's ENV, the template's env (Secret and
ConfigMap references read through a `SecretSource`), its volumes and output directories mapped
to directories of the workflow — and is retried, backed off and cut at its deadline as Argo does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ...errors import InvalidInput, NotFound
from .expressions import substitute
from .retries import Again, Attempt, GiveUp, Wait, decide
from .spec import Template
from .state import Journal, Node, finish


class SecretSource(Protocol):
    """Where secretKeyRef / configMapKeyRef values come from (a kubelet reads the cluster)."""

    def secret(self, name: str, key: str) -> str: ...

    def config_map(self, name: str, key: str) -> str: ...


def host_image_env() -> dict[str, str]:
    """The step image's ENV when steps run on this machine: where the tools are, a home and a
    locale — as an image's ENV gives them — and nothing else of this process's environment."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
    }


def kill_group(pid: int | None, sig: int = signal.SIGKILL) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def map_path(text: str, mapping: Mapping[str, str]) -> str:
    """Rewrite container paths (mount points, output dirs) to their local directories; a path
    already local (an earlier step's output) stays, though it may start like a mount (`/tmp`)."""
    if any(text == local or text.startswith(local.rstrip("/") + "/") for local in mapping.values()):
        return text
    for container_path in sorted(mapping, key=len, reverse=True):
        if text == container_path or text.startswith(container_path.rstrip("/") + "/"):
            return mapping[container_path] + text[len(container_path) :]
    return text


class LocalExecutor:
    """Runs one workflow's container steps as local processes, recording them in its journal."""

    def __init__(
        self, journal: Journal, base_env: Mapping[str, str], secrets: SecretSource | None
    ) -> None:
        self.journal, self.base_env, self.secrets = journal, base_env, secrets
        self.state, self.cond = journal.state, journal.cond
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def running(self) -> list[subprocess.Popen[bytes]]:
        """The processes of the steps running now; callers hold the condition."""
        return list(self.procs.values())

    def run(self, node: Node, template: Template, scope: dict[str, str]) -> None:
        """Run the step until it succeeds or its retries give up; the node ends finished."""
        volumes = {
            path: self.journal.dir / "volumes" / name for name, path in template.mounts.items()
        }
        out_dirs = {str(Path(p).parent) for p in template.outputs.values()}
        env = dict(self.base_env)
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
        log = self.journal.log_path(node)
        log.parent.mkdir(parents=True, exist_ok=True)
        attempts: list[Attempt] = []
        until: float | None = None  # backoff.maxDuration: no attempt runs past it
        while True:
            outputs = self.journal.dir / "outputs" / f"{node['name']}-{len(attempts)}"
            mapping = {
                **{k: str(v) for k, v in volumes.items()},
                **{d: str(outputs) for d in out_dirs},
            }
            for local in mapping.values():
                Path(local).mkdir(parents=True, exist_ok=True)
            cwd = map_path(
                template.working_dir or next(iter(template.mounts.values()), ""), mapping
            )
            deadline = template.deadline
            if until is not None:
                left = until - time.monotonic()
                deadline = left if deadline is None else min(deadline, left)
            started = time.monotonic()
            code, message = self._process(
                node,
                [map_path(a, mapping) for a in argv],
                {k: map_path(v, mapping) if k in templated else v for k, v in env.items()},
                cwd or str(self.journal.dir),
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
                    finish(node, "Failed", stopped or message)
                    self.journal.save()
                    return
                until = next_try.deadline

    def _succeed(self, node: Node, template: Template, mapping: Mapping[str, str]) -> None:
        """Read the outputs the step wrote; one missing is an Error, as on Argo."""
        values, missing = {}, []
        for name, path in template.outputs.items():
            written = Path(map_path(path, mapping))
            if written.exists():
                values[name] = written.read_text().strip()
            else:
                missing.append(name)
        node["outputs"] = values
        if missing:
            finish(node, "Error", f"output parameter {missing[0]!r} was not written")
        else:
            finish(node, "Succeeded")
        self.journal.save()

    def _next_try(self, node: Node, template: Template, attempts: list[Attempt]) -> Again | None:
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
                self.journal.save()
                return decision
            assert isinstance(decision, Wait)
            node["message"] = decision.message
            self.journal.save()
            while time.monotonic() < decision.until and not self.state["shutdown"]:
                self.cond.wait(timeout=decision.until - time.monotonic())
        return None

    def _process(
        self, node: Node, argv: list[str], env: dict[str, str], cwd: str, log: Path,
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
                self.journal.save()
                if self.state["shutdown"]:  # it came while the process was starting
                    kill_group(proc.pid, signal.SIGTERM)
            try:
                code: int | None = proc.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
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
        if self.secrets is None:
            raise InvalidInput(f"no secret source configured to read {kind} {name}/{key}")
        getter = getattr(self.secrets, kind)
        return str(getter(name, key))
