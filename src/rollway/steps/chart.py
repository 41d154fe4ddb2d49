"""fetch-chart: one ref of the team's chart repository → a chart directory and its commit id."""

from __future__ import annotations

from pathlib import Path

import click

from ..chart import chartfile, git, tree
from ..destinations import Homes
from . import outputs


@click.command("fetch-chart")
@click.option("--repo", "url", required=True, help="http(s) clone URL of the chart repository.")
@click.option("--ref", required=True, help="Branch, tag or full commit id.")
@click.option("--path", "subpath", default="charts/app", show_default=True, help="Chart directory.")
@click.option(
    "--dest",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the work tree goes (absent or empty).",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds git may take.")
@outputs.option
def command(
    url: str, ref: str, subpath: str, dest: Path, timeout: float, outputs_dir: Path
) -> None:
    """Shallow-fetch REF of the chart repository and select the chart at PATH.

    Credentials: ROLLWAY_GIT_TOKEN, or ROLLWAY_GIT_USERNAME / ROLLWAY_GIT_PASSWORD (each may be
    given as a file by the *_FILE variable), sent only to the git server ROLLWAY_GIT_URL (else
    the host of ROLLWAY_CHART_REPO). The chart must not hold a symlink.
    """
    url, ref, subpath = git.repo_url(url), git.git_ref(ref), tree.chart_path(subpath)

    def select(work_tree: Path, commit: str) -> chartfile.ChartMeta:
        return tree.select(work_tree, subpath, f"{subpath} (at {ref}, commit {commit[:12]})")

    credential = git.credential(Homes.from_env())
    commit, chart = git.fetch(url, ref, dest, select, credential=credential, timeout=timeout)
    outputs.emit(
        {
            "commit": commit,
            "chart-name": chart.name,
            "chart-version": chart.version,
            "chart-dir": str((dest / subpath).resolve()),
        },
        outputs_dir,
    )
