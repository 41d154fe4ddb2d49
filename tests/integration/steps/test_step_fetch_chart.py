"""`rollway-step fetch-chart` against the devstack's git server (Gitea-style auth).

The server hosts rollway/charts.git, seeded with this repository's charts/ on main and tagged
v<chart version>. Expected commits are read from the bare repository itself, not through the
step.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devstack.components.git import CHART_YAML, Git, GitServer, chart_version
from devstack.core import REPO
from devstack.stack import Context
from rollway.errors import InvalidInput, NotFound
from tests.support.step_runner import Quiet, StepRun, invoke, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(devstack_env: dict[str, str]) -> Quiet:
    return Quiet(devstack_env)


@pytest.fixture(scope="module")
def server_repo(devstack: Context) -> Git:
    return Git(GitServer().chart_repo(devstack))


@pytest.fixture(scope="module")
def version() -> str:
    return chart_version((REPO / CHART_YAML).read_text())


def fetch(env: Quiet, tmp_path: Path, ref: str, *extra: str) -> StepRun:
    return invoke(
        env,
        tmp_path / "outputs",
        "fetch-chart",
        "--repo",
        env["ROLLWAY_CHART_REPO"],
        "--ref",
        ref,
        "--dest",
        str(tmp_path / "checkout"),
        *extra,
    )


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "outputs")


def test_a_branch_is_fetched_at_its_head(
    env: Quiet, tmp_path: Path, server_repo: Git, version: str
) -> None:
    result = fetch(env, tmp_path, "main")
    assert result.exit_code == 0, result.stderr or result.exception
    out = result.outputs
    assert out["commit"] == server_repo.out("rev-parse", "refs/heads/main")
    assert (out["chart-name"], out["chart-version"]) == ("app", version)
    chart = Path(out["chart-dir"])
    assert chart == (tmp_path / "checkout" / "charts" / "app").resolve()
    assert (chart / "Chart.yaml").is_file() and (chart / "templates").is_dir()
    shallow = Git(tmp_path / "checkout" / ".git")
    assert shallow.out("rev-list", "--count", "HEAD") == "1"  # depth 1
    assert shallow.out("rev-parse", "HEAD") == out["commit"]
    assert leftovers(tmp_path) == ["checkout"]


def test_a_tag_is_fetched_at_its_commit(
    env: Quiet, tmp_path: Path, server_repo: Git, version: str
) -> None:
    result = fetch(env, tmp_path, f"v{version}")
    assert result.exit_code == 0, result.stderr or result.exception
    assert result.outputs["commit"] == server_repo.out(
        "rev-parse", f"refs/tags/v{version}^{{commit}}"
    )


def test_a_commit_is_fetched_by_its_full_id(env: Quiet, tmp_path: Path, server_repo: Git) -> None:
    commit = server_repo.out("rev-parse", "refs/heads/main")
    result = fetch(env, tmp_path, commit)
    assert result.exit_code == 0, result.stderr or result.exception
    assert result.outputs["commit"] == commit
    assert Path(result.outputs["chart-dir"], "Chart.yaml").is_file()


def test_an_unknown_ref_is_named(env: Quiet, tmp_path: Path) -> None:
    result = fetch(env, tmp_path, f"no-such-branch-{uuid.uuid4().hex[:8]}")
    assert isinstance(result.exception, NotFound)
    assert result.exception.field == "ref"
    assert leftovers(tmp_path) == []


def test_an_abbreviated_commit_gets_a_hint(env: Quiet, tmp_path: Path, server_repo: Git) -> None:
    short = server_repo.out("rev-parse", "refs/heads/main")[:10]
    result = fetch(env, tmp_path, short)
    assert isinstance(result.exception, NotFound)
    assert result.exception.hint == "give a commit by its full 40-character id"


def test_a_missing_chart_path_fails_and_leaves_nothing(env: Quiet, tmp_path: Path) -> None:
    result = fetch(env, tmp_path, "main", "--path", "charts/nope")
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == "path"
    assert "charts/nope (at main, commit " in result.exception.message
    assert "is not a directory" in result.exception.message
    assert leftovers(tmp_path) == []  # neither the checkout nor its hidden work directory
    assert result.outputs == {}


def test_a_directory_without_chart_yaml_is_not_a_chart(env: Quiet, tmp_path: Path) -> None:
    result = fetch(env, tmp_path, "main", "--path", "charts/app/templates")
    assert isinstance(result.exception, InvalidInput)
    assert "holds no Chart.yaml, so it is not a Helm chart" in str(result.exception)
    assert leftovers(tmp_path) == []


def test_a_wrong_token_is_refused_without_showing_it(env: Quiet, tmp_path: Path) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    result = run(
        Quiet(env, ROLLWAY_GIT_TOKEN=wrong),
        tmp_path / "outputs",
        "fetch-chart",
        "--repo",
        env["ROLLWAY_CHART_REPO"],
        "--ref",
        "main",
        "--dest",
        str(tmp_path / "checkout"),
        timeout=120,
    )
    assert result.exit_code == 1
    assert "the git server refused access" in result.stderr
    assert "hint: set ROLLWAY_GIT_TOKEN" in result.stderr
    for secret in (wrong, env["ROLLWAY_GIT_TOKEN"], env["ROLLWAY_GIT_PASSWORD"]):
        assert secret not in result.stderr + result.stdout
    assert leftovers(tmp_path) == []


def test_username_and_password_work_without_a_token(env: Quiet, tmp_path: Path) -> None:
    basic = Quiet({k: v for k, v in env.items() if k != "ROLLWAY_GIT_TOKEN"})
    result = fetch(basic, tmp_path, "main")
    assert result.exit_code == 0, result.stderr or result.exception


def test_the_console_script_fetches_and_reports(
    env: Quiet, tmp_path: Path, server_repo: Git
) -> None:
    result = run(
        env,
        tmp_path / "outputs",
        "fetch-chart",
        "--repo",
        env["ROLLWAY_CHART_REPO"],
        "--ref",
        "main",
        "--dest",
        str(tmp_path / "checkout"),
        timeout=120,
    )
    assert result.exit_code == 0, result.stderr
    assert result.outputs["commit"] == server_repo.out("rev-parse", "refs/heads/main")


def test_a_rerun_replaces_the_earlier_fetch(env: Quiet, tmp_path: Path, server_repo: Git) -> None:
    """Retries and an engine resuming after a crash run the step again into the same dest."""
    first = fetch(env, tmp_path, "main")
    assert first.exit_code == 0, first.stderr
    (tmp_path / "checkout" / "stale-file").write_text("from the first run")
    second = fetch(env, tmp_path, "main")
    assert second.exit_code == 0, second.stderr
    assert not (tmp_path / "checkout" / "stale-file").exists()
    assert leftovers(tmp_path) == ["checkout"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep").write_text("not a fetch")
    refused = invoke(env, tmp_path / "outputs", "fetch-chart", "--repo", env["ROLLWAY_CHART_REPO"],
                     "--ref", "main", "--dest", str(tmp_path / "other"))  # fmt: skip
    assert refused.exit_code != 0 and (tmp_path / "other" / "keep").exists()
