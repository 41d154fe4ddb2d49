"""A chart directory's identity, read from its Chart.yaml."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from ..errors import InvalidInput


@dataclasses.dataclass(frozen=True)
class ChartMeta:
    name: str
    version: str
    directory: Path


def load(directory: Path, field: str = "chart", shown: str | None = None) -> ChartMeta:
    """Name and version of the chart in `directory`; a clear error when it is not a chart.

    `shown` is how messages name the directory (say, its path inside a repository).
    """
    shown = shown or str(directory)
    chart_yaml = directory / "Chart.yaml"
    if not directory.is_dir():
        raise InvalidInput(f"{shown} is not a directory", field=field)
    if not chart_yaml.is_file():
        raise InvalidInput(f"{shown} holds no Chart.yaml, so it is not a Helm chart", field=field)
    try:
        data = yaml.safe_load(chart_yaml.read_text())
    except yaml.YAMLError as err:
        raise InvalidInput(f"{shown}/Chart.yaml is not valid YAML: {err}", field=field) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{shown}/Chart.yaml is not a mapping", field=field)
    missing = [key for key in ("name", "version") if not data.get(key)]
    if missing:
        raise InvalidInput(f"{shown}/Chart.yaml has no {' or '.join(missing)}", field=field)
    return ChartMeta(str(data["name"]), str(data["version"]), directory)
