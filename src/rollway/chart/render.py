"""`helm template` in a sandbox, with Helm's refusals turned into errors naming the value.

A team's chart is untrusted code (templates are programs), rendered by the render step and by
the API server's dry run. Helm runs as a child with an environment of its own — no inherited
variable (no Argo token, database URL or credential), a fresh empty HOME, no kubeconfig, so
`lookup` finds no cluster — and with limits on its address space, CPU time, wall time and output
size (the output goes to files the child may not grow past the limit). The chart directory must hold no symlink (chart.tree), so `.Files` reads only the chart.
pyhelm3 builds the command and parses the output; only how the child is started is Rollway's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pyhelm3 import Command, errors

from ..errors import InvalidInput, UpstreamError
from .tree import check_no_symlinks

#: `- replicas: Invalid type. Expected: integer, given: string` under a schema failure.
SCHEMA_LINE = re.compile(r"^-\s*(?P<path>\S+):\s*(?P<reason>.+)$")
#: `Error: execution error at (app/templates/rollout.yaml:1:4): <message from `fail`>`.
EXECUTION = re.compile(r"execution error at \((?P<where>[^)]*)\):\s*(?P<message>.+)", re.DOTALL)
ADDITIONAL = re.compile(r"Additional property (?P<name>\S+) is not allowed")
VALUE_PATH = re.compile(r"^(?P<path>[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_\[\]]+)*)\b")
#: Address space of the helm child. Go reserves about 700 MiB of it at start; the rest is
#: what rendering may use.
MEMORY_LIMIT = 1536 << 20
#: Seconds helm may take, wall-clock and CPU.
TIME_LIMIT = 60
#: Bytes of rendered manifests (and of helm's error output) read; more is refused.
OUTPUT_LIMIT = 16 << 20

Manifest = dict[str, Any]


def helm_binary() -> str:
    """HELM_BINARY, else `helm` on PATH."""
    binary = os.environ.get("HELM_BINARY") or "helm"
    found = shutil.which(binary)
    if not found:
        raise UpstreamError(f"helm binary {binary!r} not found", hint="set HELM_BINARY or PATH")
    return found


def template(
    chart_dir: Path, release: str, namespace: str, values: dict[str, Any]
) -> list[Manifest]:
    """The objects the chart renders to with `values` (an empty document is dropped)."""
    check_no_symlinks(chart_dir, str(chart_dir.name))
    # pyhelm3 logs each failed command as a warning; the error raised here says it better.
    logging.getLogger("pyhelm3").addHandler(logging.NullHandler())
    with tempfile.TemporaryDirectory(prefix="rollway-helm-") as home:
        helm = SandboxedHelm(executable=helm_binary(), home=Path(home))

        async def run() -> list[Manifest]:
            docs = await helm.template(release, chart_dir, values, namespace=namespace)
            return [doc for doc in docs if doc]

        try:
            return asyncio.run(run())
        except errors.Error as err:
            known = set(values) | set(_defaults(chart_dir))
            raise rejection(err.stderr.decode(errors="replace"), known) from None
        except yaml.YAMLError as err:
            raise InvalidInput(f"the chart renders invalid YAML: {err}", field="chart") from None


class SandboxedHelm(Command):
    """pyhelm3's Command, with helm started bare: its own env and HOME, and limits."""

    def __init__(self, *, executable: str, home: Path) -> None:
        super().__init__(executable=executable)
        self._home = home

    def environment(self) -> dict[str, str]:
        home = str(self._home)
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home,
                "HELM_CACHE_HOME": f"{home}/cache", "HELM_CONFIG_HOME": f"{home}/config",
                "HELM_DATA_HOME": f"{home}/data", "KUBECONFIG": os.devnull}  # fmt: skip

    async def run(self, command: list[str], input: bytes | None = None) -> bytes:  # noqa: A002
        """helm `command` as pyhelm3 runs it (same signature), started bare and limited.

        A blocking child writing to files, not an asyncio subprocess: the loop is private to
        this call, and an asyncio child killed mid-output could leave `wait()` pending forever.
        """
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            try:
                code = subprocess.run(
                    [self._executable, *map(str, command)], input=input or b"",
                    stdout=stdout, stderr=stderr, env=self.environment(), cwd=self._home,
                    preexec_fn=_limits, start_new_session=True, timeout=TIME_LIMIT,
                    check=False,
                ).returncode  # fmt: skip
            except subprocess.TimeoutExpired:
                raise _stopped(f"took more than {TIME_LIMIT} s") from None
            written = max(os.fstat(stdout.fileno()).st_size, os.fstat(stderr.fileno()).st_size)
            if written > OUTPUT_LIMIT or code == -signal.SIGXFSZ:
                raise _stopped(f"rendered more than {OUTPUT_LIMIT >> 20} MiB")
            stdout.seek(0)
            stderr.seek(0)
            if code != 0:
                raise errors.Error(code or 1, stdout.read(), stderr.read())
            return stdout.read()


def _stopped(what: str) -> InvalidInput:
    return InvalidInput(f"the chart {what}; rendering was stopped", field="chart")


def _limits() -> None:
    """In the child, before exec: what helm may use."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (TIME_LIMIT, TIME_LIMIT))
    # One byte over the limit may be written, so "more than the limit" is seen, not a cut file.
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT + 1, OUTPUT_LIMIT + 1))


def _schema_path(problem: re.Match[str]) -> str | None:
    """The value a schema complaint is about; `(root)` means an unknown top-level value."""
    if problem["path"] != "(root)":
        return problem["path"]
    unknown = ADDITIONAL.search(problem["reason"])
    return unknown["name"] if unknown else None


def _defaults(chart_dir: Path) -> dict[str, Any]:
    try:
        values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return values if isinstance(values, dict) else {}


def rejection(stderr: str, known: set[str]) -> InvalidInput:
    """One error naming the value at fault and the chart's reason.

    Schema failures name the value path; a template's `fail` message names it first when the
    chart follows the convention (`bluegreen.autoPromotionSeconds only works with …`), which is
    recognised when it starts with a top-level value in `known`.
    """
    text = stderr.strip().removeprefix("Error: ")
    problems = [m for m in (SCHEMA_LINE.match(ln.strip()) for ln in text.splitlines()) if m]
    if "don't meet the specifications of the schema" in text and problems:
        reasons = "; ".join(f"{m['path']}: {m['reason']}" for m in problems)
        return InvalidInput(
            f"the chart's values.schema.json rejects it ({reasons})",
            field=next(filter(None, map(_schema_path, problems)), "values"),
        )
    execution = EXECUTION.search(text)
    if execution:
        message = execution["message"].strip().splitlines()[0]
        path = VALUE_PATH.match(message)
        named = path["path"] if path and path["path"].split(".")[0] in known else None
        reason = message if not named else message[len(named) :].strip(" :")
        return InvalidInput(
            f"the chart refuses it ({execution['where']}): {reason}", field=named or "values"
        )
    first = next((ln for ln in text.splitlines() if ln.strip()), "helm template failed")
    return InvalidInput(f"helm template failed: {first}", field="chart")
