"""A team's chart stays inside its directory: no path out of the repository, no symlink in it.

Helm follows symlinks when it loads a chart, so a link to `/var/run/secrets/…` would put that
file's content into `.Files` — and from there into a rendered manifest or a `fail` message the
dry run shows. The chart's repository is untrusted input; these checks run before Helm does.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..validation import no_template

if TYPE_CHECKING:
    from .chartfile import ChartMeta


def chart_path(value: str, field: str = "path") -> str:
    """A relative path inside the repository, never leaving it (no `..`, not absolute)."""
    no_template(field, value)
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"{value!r} must be a relative path inside the repository", field=field)
    return str(path)


def check_no_symlinks(directory: Path, shown: str, field: str = "chart") -> None:
    """Refuse a chart directory that is, or holds anywhere below it, a symlink."""
    if directory.is_symlink():
        raise InvalidInput(f"{shown} is a symlink; charts must not contain any", field=field)
    for root, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            if (Path(root) / name).is_symlink():
                inside = (Path(root) / name).relative_to(directory)
                raise InvalidInput(
                    f"{shown} contains a symlink ({inside}); charts must not contain any",
                    field=field,
                )


def select(tree: Path, subpath: str, shown: str, field: str = "path") -> ChartMeta:
    """The chart at `subpath` of a checked-out repository `tree`, refused when the path or
    any directory on the way is a symlink, or the chart holds one."""
    subpath = chart_path(subpath, field)
    step = tree
    for part in PurePosixPath(subpath).parts:
        step = step / part
        if step.is_symlink():
            raise InvalidInput(f"{shown} leads through a symlink ({part})", field=field)
    check_no_symlinks(step, shown, field=field)
    from .chartfile import load  # YAML: only where a chart is read, not where paths are checked

    return load(step, field=field, shown=shown)
