"""How read commands print: `-o json|yaml` as the API answered, `-o table` for people.

json needs neither rich nor yaml; rich is imported only for tables and live views, and
honours NO_COLOR (and plain text when stdout is not a terminal).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "yaml")


def output_option(f: F) -> F:
    return click.option(
        "-o", "--output", type=click.Choice(FORMATS), default="table", show_default=True,
        help="Output format.",
    )(f)  # fmt: skip


def emit(data: Any, fmt: str) -> None:
    """Print data as JSON or YAML (table output is each command's own)."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def console(*, stderr: bool = False) -> Console:
    """A rich console for tables and live views: colour on a terminal unless NO_COLOR (which
    rich reads); no wrapping of long lines when piped."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=not terminal,
        width=None if terminal else 200,
    )


def show(renderable: Any, out: Console | None = None) -> None:
    """Print a rich renderable; when piped, as plain lines without rich's trailing padding."""
    out = out or console()
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    for line in captured.get().splitlines():
        click.echo(line.rstrip(), file=out.file)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """kubectl-style columns: upper-case headers, no borders."""
    from rich.table import Table

    grid = Table(box=None, pad_edge=False, padding=(0, 3, 0, 0), header_style="bold")
    for header in headers:
        grid.add_column(header.upper(), no_wrap=True)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    show(grid)


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """`kubectl`'s age: 45s, 12m, 3h, 2d."""
    if not timestamp:
        return "-"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    return duration(seconds)


def duration(seconds: float | None) -> str:
    """Kubernetes' HumanDuration: precise while short, coarser as it grows."""
    if seconds is None:
        return "-"
    s = int(seconds)
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d"
