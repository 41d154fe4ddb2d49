"""A chart directory is refused when a path or a symlink leads out of it (pure file checks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollway.chart import tree
from rollway.errors import InvalidInput

CHART_YAML = "apiVersion: v2\nname: app\nversion: 1.0.0\n"


def repository(root: Path) -> Path:
    chart = root / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML)
    return root


def test_a_plain_chart_is_selected(tmp_path: Path) -> None:
    assert tree.select(repository(tmp_path), "charts/app", "charts/app").name == "app"


@pytest.mark.parametrize("link", ["templates/secret.txt", "files", "templates/deeper/token"])
def test_a_symlink_anywhere_in_the_chart_is_refused(tmp_path: Path, link: str) -> None:
    repo = repository(tmp_path)
    target = repo / "charts" / "app" / link
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/etc/hostname", target)
    with pytest.raises(InvalidInput) as refused:
        tree.select(repo, "charts/app", "charts/app")
    assert refused.value.field == "path" and "contains a symlink" in refused.value.message


def test_a_chart_path_through_a_symlink_is_refused(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    os.symlink(repo / "charts", repo / "elsewhere")
    with pytest.raises(InvalidInput, match="leads through a symlink"):
        tree.select(repo, "elsewhere/app", "elsewhere/app")


@pytest.mark.parametrize("path", ["../outside", "charts/../../x", "/etc", ""])
def test_a_chart_path_never_leaves_the_repository(tmp_path: Path, path: str) -> None:
    with pytest.raises(InvalidInput, match="relative path inside the repository"):
        tree.select(repository(tmp_path), path, path)
