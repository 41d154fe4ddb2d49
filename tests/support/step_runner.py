"""Running a step the two ways tests need: in-process through click's CliRunner (exceptions and
outputs inspectable) and as the real `rollway-step` console script in a subprocess."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from rollway.steps.cli import main

STEP = str(Path(sys.executable).parent / "rollway-step")


class Quiet(dict[str, str]):
    """An environment holding credentials; shows only its keys, so pytest never prints a secret."""

    def __repr__(self) -> str:
        return f"Quiet({len(self)} variables)"


@dataclasses.dataclass
class StepRun:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    outputs: dict[str, str]


def read_outputs(directory: Path) -> dict[str, str]:
    """The output files a step wrote (what Argo would read), by name."""
    if not directory.is_dir():
        return {}
    return {p.name: p.read_text() for p in directory.iterdir() if not p.name.startswith(".")}


def invoke(env: Mapping[str, str], outputs: Path, step: str, *args: str) -> StepRun:
    """`rollway-step STEP ARGS… --outputs-dir OUTPUTS` in this process, with `env` as os.environ."""
    result = CliRunner().invoke(
        main, [step, *args, "--outputs-dir", str(outputs)], env=dict(env), catch_exceptions=True
    )
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return StepRun(result.exit_code, result.stdout, result.stderr, exception, read_outputs(outputs))


def run(
    env: Mapping[str, str], outputs: Path, step: str, *args: str, timeout: float = 600
) -> StepRun:
    """The same through the installed console script, as a workflow pod runs it."""
    proc = subprocess.run(
        [STEP, step, *args, "--outputs-dir", str(outputs)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return StepRun(proc.returncode, proc.stdout, proc.stderr, None, read_outputs(outputs))
