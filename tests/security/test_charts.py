"""A team's chart is untrusted: one holding a symlink, or named by a path that leaves the
repository, is refused — in the API server's dry-run plan and in the pipeline's steps — and helm
renders it as a bare child: no inherited variable, a fresh HOME, limits on memory and output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.components.git import GitServer
from devstack.core import REPO
from devstack.stack import Context
from rollway.apiserver.models import Application
from rollway.apiserver.services import plan
from rollway.apiserver.settings import Settings
from rollway.chart import render
from rollway.errors import InvalidInput
from tests.support.step_runner import Quiet, run

#: A file a hostile chart would like to read into `.Files` and show in a manifest or an error.
TARGET = "/etc/hostname"


@pytest.fixture(scope="module")
def symlinked_ref(devstack: Context) -> Iterator[str]:
    """A branch of the devstack's chart repository whose chart links to a file outside it."""
    branch = f"security/symlink-{uuid.uuid4().hex[:8]}"
    bare = GitServer().chart_repo(devstack)
    work = Path(f"/tmp/rollway-symlink-{branch.rsplit('-', 1)[1]}")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    try:
        os.symlink(TARGET, work / "charts" / "app" / "leak.txt")
        subprocess.run([*git, "checkout", "-q", "-b", branch], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "a symlink out of the chart"], check=True)
        subprocess.run([*git, "push", "-q", "origin", branch], check=True)
        yield branch
    finally:
        subprocess.run(["git", "-C", str(bare), "branch", "-D", branch], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def plan_settings(env: dict[str, str]) -> Settings:
    return Settings(keycloak_url=env["ROLLWAY_KEYCLOAK_URL"], registry=env["ROLLWAY_REGISTRY"],
                    git_url=env["ROLLWAY_GIT_URL"])  # fmt: skip


def dry_run(env: dict[str, str], ref: str, path: str = "charts/app") -> str | None:
    """The dry run's manifests part (what `POST …/deployments?dryRun` shows) for a chart."""
    app = Application(name="hello", chart_repo=env["ROLLWAY_CHART_REPO"], chart_ref=ref,
                      chart_path=path)  # fmt: skip
    params = {"chart-repo": env["ROLLWAY_CHART_REPO"], "chart-ref": ref, "chart-path": path,
              "image-repository": f"{env['ROLLWAY_REGISTRY']}/apps/hello",
              "strategy": "bluegreen", "namespace": "hello-dev", "values": "{}"}  # fmt: skip
    image = plan.ImagePlan(repository=params["image-repository"], action="build")
    return plan._manifests(app, params, image, plan_settings(env)).error


@pytest.mark.integration
def test_the_plan_refuses_a_chart_with_a_symlink(
    devstack_env: dict[str, str], symlinked_ref: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLWAY_GIT_TOKEN", devstack_env["ROLLWAY_GIT_TOKEN"])  # the server's
    error = dry_run(devstack_env, symlinked_ref)
    assert error is not None and "contains a symlink (leak.txt)" in error, error
    assert Path(TARGET).read_text().strip() not in error


@pytest.mark.integration
def test_the_fetch_chart_step_refuses_a_chart_with_a_symlink(
    devstack_env: dict[str, str], symlinked_ref: str, tmp_path: Path
) -> None:
    done = run(Quiet(devstack_env), tmp_path / "out", "fetch-chart", "--repo",
               devstack_env["ROLLWAY_CHART_REPO"], "--ref", symlinked_ref,
               "--dest", str(tmp_path / "chart"))  # fmt: skip
    assert done.exit_code == 2, done.stderr
    assert "contains a symlink (leak.txt); charts must not contain any" in done.stderr
    assert not (tmp_path / "chart").exists()


@pytest.mark.integration
def test_the_fetch_chart_step_refuses_a_path_out_of_the_repository(
    devstack_env: dict[str, str], tmp_path: Path
) -> None:
    done = run(Quiet(devstack_env), tmp_path / "out", "fetch-chart", "--repo",
               devstack_env["ROLLWAY_CHART_REPO"], "--ref", "main", "--path", "charts/../..",
               "--dest", str(tmp_path / "chart"))  # fmt: skip
    assert done.exit_code == 2, done.stderr
    assert "must be a relative path inside the repository" in done.stderr


def test_the_render_step_refuses_a_chart_with_a_symlink(tmp_path: Path) -> None:
    chart = tmp_path / "app"
    shutil.copytree(REPO / "charts" / "app", chart)
    os.symlink(TARGET, chart / "templates" / "leak.yaml")
    with pytest.raises(InvalidInput, match=r"contains a symlink \(templates/leak.yaml\)"):
        render.template(chart, "hello", "hello-dev", {})


RECORDER = """#!/bin/sh
cat >/dev/null
printf 'kind: ConfigMap\\ndata:\\n'
printf '  names: "%s"\\n' "$(env | cut -d= -f1 | sort | tr '\\n' ' ')"
printf '  home: "%s"\\n  home-entries: "%s"\\n' "$HOME" "$(ls -A "$HOME" | wc -l)"
printf '  kubeconfig: "%s"\\n  address-space-kib: "%s"\\n' "$KUBECONFIG" "$(ulimit -v)"
"""


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recorder in helm's place: it renders what it was started with."""
    script = tmp_path / "helm"
    script.write_text(RECORDER)
    script.chmod(0o755)
    monkeypatch.setenv("HELM_BINARY", str(script))
    return script


def test_helm_runs_with_nothing_of_the_callers_environment(
    recorder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"ROLLWAY_DATABASE_URL": "postgresql://u:pw@db/rollway",
                        "ROLLWAY_ARGO_TOKEN": "argo-token", "ROLLWAY_GIT_TOKEN": "git-token",
                        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
                        "KUBECONFIG": "/root/.kube/config"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    chart = tmp_path / "app"
    shutil.copytree(REPO / "charts" / "app", chart)
    (recorded,) = render.template(chart, "hello", "hello-dev", {})
    seen = recorded["data"]
    names = set(seen["names"].split())
    assert names <= {"PATH", "HOME", "TMPDIR", "HELM_CACHE_HOME", "HELM_CONFIG_HOME",
                     "HELM_DATA_HOME", "KUBECONFIG", "PWD", "SHLVL", "_"}, names  # fmt: skip
    assert seen["kubeconfig"] == os.devnull
    assert seen["home-entries"] == "0" and not Path(seen["home"]).exists()  # fresh, then gone
    assert int(seen["address-space-kib"]) * 1024 == render.MEMORY_LIMIT


def test_output_beyond_the_limit_stops_the_render(recorder: Path, tmp_path: Path) -> None:
    recorder.write_text("#!/bin/sh\ncat >/dev/null\nexec head -c 17000000 /dev/zero\n")
    chart = tmp_path / "app"
    shutil.copytree(REPO / "charts" / "app", chart)
    with pytest.raises(InvalidInput, match="rendered more than 16 MiB"):
        render.template(chart, "hello", "hello-dev", {})


@pytest.mark.integration
def test_the_real_helm_renders_within_its_limits(
    devstack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limits leave room for a real chart (helm's own address-space reservation fits)."""
    monkeypatch.setenv("HELM_BINARY", devstack_env["HELM_BINARY"])
    chart = tmp_path / "app"
    shutil.copytree(REPO / "charts" / "app", chart)
    digest = "sha256:" + "0" * 64
    values = {"image": {"repository": "127.0.0.1:25000/apps/hello", "digest": digest}}
    kinds = {m["kind"] for m in render.template(chart, "hello", "hello-dev", values)}
    assert "Rollout" in kinds, kinds
