"""Step outputs: one file per output (what Argo's `valueFrom.path` reads) plus a JSON summary."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

#: Where output files go unless `--outputs-dir` says otherwise; the templates mount it.
DEFAULT_DIR = "/tmp/rollway/outputs"


def outputs_dir() -> Path:
    return Path(os.environ.get("ROLLWAY_OUTPUTS_DIR", DEFAULT_DIR))


def option(command: F) -> F:
    """`--outputs-dir` for a step command (passed on to `emit`); ROLLWAY_OUTPUTS_DIR sets it too."""
    return click.option(
        "--outputs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="ROLLWAY_OUTPUTS_DIR",
        default=DEFAULT_DIR,
        show_default=True,
        help="Directory receiving one file per output (what Argo's valueFrom.path reads).",
    )(command)


def emit(outputs: Mapping[str, object], directory: Path | None = None) -> None:
    """Write `<dir>/<name>` for each output (atomically) and print them as one JSON line."""
    target = directory or outputs_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name, value in outputs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        tmp = target / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(target / name)
    json.dump(dict(outputs), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()
