"""Fixtures for chart tests: charts/app (`app_chart`) and charts/rollway (`chart`) rendered and
linted by the real helm binary."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.core import REPO

APP_CHART = REPO / "charts" / "app"
ROLLWAY_CHART = REPO / "charts" / "rollway"
RELEASE = "orders"


class Rendered(list[dict[str, Any]]):
    """Objects rendered by `helm template`, looked up by kind and name."""

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        """The single object of a kind (and name), failing with what was there instead."""
        found = [o for o in self if o["kind"] == kind and name in (None, o["metadata"]["name"])]
        assert len(found) == 1, (kind, name, self.kinds())
        return found[0]

    def kinds(self) -> list[tuple[str, str]]:
        return sorted((o["kind"], o["metadata"]["name"]) for o in self)


class HelmChart:
    """Runs helm on one chart with values given as files (the chart's ci/ cases) and/or a dict."""

    def __init__(self, helm: str, chart: Path, env: dict[str, str], tmp: Path) -> None:
        self.helm, self.chart, self.env, self.tmp = helm, chart, env, tmp

    def run(
        self, *args: str, values: dict[str, Any] | None = None, files: Sequence[Path] = ()
    ) -> subprocess.CompletedProcess[str]:
        given = self.tmp / "given-values.yaml"
        given.write_text(yaml.safe_dump(values or {}))
        value_args = [arg for path in (*files, given) for arg in ("-f", str(path))]
        return subprocess.run(
            [self.helm, *args, str(self.chart), *value_args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )

    def template_text(
        self,
        values: dict[str, Any] | None = None,
        files: Sequence[Path] = (),
        release: str = RELEASE,
    ) -> str:
        proc = self.run("template", release, values=values, files=files)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def template(
        self,
        values: dict[str, Any] | None = None,
        files: Sequence[Path] = (),
        release: str = RELEASE,
    ) -> Rendered:
        """The rendered objects, parsed."""
        text = self.template_text(values, files, release)
        return Rendered(doc for doc in yaml.safe_load_all(text) if doc)

    def template_error(self, values: dict[str, Any]) -> str:
        """Helm's error for values that must not render."""
        proc = self.run("template", RELEASE, values=values)
        assert proc.returncode != 0, f"rendered although it should fail:\n{proc.stdout}"
        return proc.stderr


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`ci_values`: each of the chart's example values files (chart-testing's ci/ layout)."""
    if "ci_values" in metafunc.fixturenames:
        files = sorted((APP_CHART / "ci").glob("*-values.yaml"))
        assert files, f"no example values in {APP_CHART / 'ci'}"
        ids = [path.name.removesuffix("-values.yaml") for path in files]
        metafunc.parametrize("ci_values", files, ids=ids)


@pytest.fixture(scope="session")
def helm_binary(devstack_env: dict[str, str]) -> str:
    return devstack_env["HELM_BINARY"]


@pytest.fixture
def app_chart(helm_binary: str, devstack_env: dict[str, str], tmp_path: Path) -> HelmChart:
    return HelmChart(helm_binary, APP_CHART, devstack_env, tmp_path)


@pytest.fixture
def chart(helm_binary: str, devstack_env: dict[str, str], tmp_path: Path) -> HelmChart:
    """charts/rollway, the chart that installs Rollway itself."""
    return HelmChart(helm_binary, ROLLWAY_CHART, devstack_env, tmp_path)
