"""The chart git server standing in for Gitea, and the chart repository it is seeded with."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ..core import HOST, REPO, DevstackError, http_status, run, which
from ..stack import Component, Context

USER = "rollway-bot"
CHART_REPO = "rollway/charts.git"
CHART_YAML = "charts/app/Chart.yaml"
VERSION_LINE = re.compile(r"^version:\s*[\"']?([^\"'\s#]+)", re.MULTILINE)
# Fixed identity and no user/system config, so seeding behaves the same on every machine.
SEED_ENV = {
    "GIT_AUTHOR_NAME": "Rollway Devstack",
    "GIT_AUTHOR_EMAIL": "devstack@rollway.local",
    "GIT_COMMITTER_NAME": "Rollway Devstack",
    "GIT_COMMITTER_EMAIL": "devstack@rollway.local",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
# What Gitea allows on its repositories: pushes, and fetching any commit by its id.
REPO_CONFIG = {
    "http.receivepack": "true",
    "uploadpack.allowReachableSHA1InWant": "true",
    "uploadpack.allowAnySHA1InWant": "true",
    "uploadpack.allowFilter": "true",
}


class GitServer(Component):
    """`git http-backend` behind Gitea-style auth, serving `rollway/charts.git` on 23000."""

    name = "git"
    version = "1.0"  # of devstack/servers/git_server.py; the git it runs is the system's
    port = 23000
    start_timeout = 20.0

    def root(self, ctx: Context) -> Path:
        return ctx.paths.work / "git" / "repos"

    def chart_repo(self, ctx: Context) -> Path:
        return self.root(ctx) / CHART_REPO

    def install(self, ctx: Context) -> None:
        if not which("git"):
            raise DevstackError("git: the `git` program is not installed")
        exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True)
        if not Path(exec_path.stdout.strip(), "git-http-backend").exists():
            raise DevstackError("git: `git http-backend` is missing from this git installation")

    def prepare(self, ctx: Context) -> None:
        """Create the bare chart repo (seeded by `after_start`) so the readiness probe finds it."""
        create_repo(self.chart_repo(ctx))

    def command(self, ctx: Context) -> list[str]:
        args = ["--root", str(self.root(ctx)), "--host", HOST, "--port", str(self.port)]
        return [sys.executable, "-m", "devstack.servers.git_server", *args, "--user", USER]

    def environ(self, ctx: Context) -> dict[str, str]:
        return {
            "PYTHONPATH": str(REPO),
            "DEVSTACK_GIT_PASSWORD": ctx.secret("git-password"),
            "DEVSTACK_GIT_TOKEN": ctx.secret("git-token"),
        }

    def ready(self, ctx: Context) -> bool:
        url = f"{self.endpoint(ctx)}/{CHART_REPO}/info/refs?service=git-upload-pack"
        basic = base64.b64encode(f"{USER}:{ctx.secret('git-password')}".encode()).decode()
        return http_status(url, headers={"Authorization": f"Basic {basic}"}) == 200

    def after_start(self, ctx: Context) -> None:
        """Commit the current `charts/` on main when its tree changed, and tag its chart version."""
        seed_charts(self.chart_repo(ctx))

    def exports(self, ctx: Context) -> dict[str, str]:
        url = self.endpoint(ctx)
        return {
            "ROLLWAY_GIT_URL": url,
            "ROLLWAY_CHART_REPO": f"{url}/{CHART_REPO}",
            "ROLLWAY_GIT_USERNAME": USER,
            "ROLLWAY_GIT_PASSWORD": ctx.secret("git-password"),
            "ROLLWAY_GIT_TOKEN": ctx.secret("git-token"),
        }


def create_repo(repo: Path) -> None:
    """A bare repository on branch main, configured the way Gitea serves its repositories."""
    env = {**os.environ, **SEED_ENV}
    if not (repo / "HEAD").exists():
        repo.mkdir(parents=True, exist_ok=True)
        run(["git", "init", "--quiet", "--bare", "--initial-branch=main", repo], env=env)
    for key, value in REPO_CONFIG.items():
        run(["git", "--git-dir", repo, "config", key, value], env=env)


def seed_charts(repo: Path, root: Path = REPO) -> str:
    """Commit `root/charts` on main when its tree changed (never rewriting history); returns main.

    The tag `v<version>` follows main: the devstack mirrors the working tree, so whoever fetches the
    tag gets the chart as it is in this checkout (a version bump simply creates a new tag).
    """
    git = Git(repo)
    tree = git.tree_of(root, "charts")
    version = chart_version(git.out("cat-file", "blob", f"{tree}:{CHART_YAML}", check=False))
    if not version:
        raise DevstackError(f"git: no `version:` in {root / CHART_YAML}")
    head = git.out("rev-parse", "--verify", "--quiet", "refs/heads/main", check=False)
    commit = head
    if not head or git.out("rev-parse", f"{head}^{{tree}}") != tree:
        parents = ["-p", head] if head else []
        message = f"Chart {version} from Rollway's charts/"
        commit = git.out("commit-tree", tree, *parents, "-m", message)
        git.out("update-ref", "refs/heads/main", commit, head or "0" * 40)
    tag = f"refs/tags/v{version}"
    if git.out("rev-parse", "--verify", "--quiet", tag, check=False) != commit:
        git.out("update-ref", tag, commit)
    return commit


class Git:
    """Plumbing commands on one bare repository, with the fixed identity and no user config."""

    def __init__(self, repo: Path, env: dict[str, str] | None = None):
        self.repo, self.env = repo, {**os.environ, **SEED_ENV, **(env or {})}

    def out(self, *args: str, check: bool = True) -> str:
        cmd = ["git", "--git-dir", str(self.repo), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        if check and proc.returncode != 0:
            raise DevstackError(f"git: git {args[0]} in {self.repo} failed: {proc.stderr.strip()}")
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def tree_of(self, root: Path, subdir: str) -> str:
        """Tree id holding `root/subdir` at `subdir/`, as `git add` sees it (.gitignore applies)."""
        if not (root / subdir).is_dir():
            raise DevstackError(f"git: no directory {root / subdir} to seed the chart repo from")
        with tempfile.TemporaryDirectory(prefix="devstack-git-") as tmp:
            index = {"GIT_WORK_TREE": str(root), "GIT_INDEX_FILE": str(Path(tmp, "index"))}
            git = Git(self.repo, index)
            git.out("add", "--all", "--", subdir)
            return git.out("write-tree")


def chart_version(chart_yaml: str) -> str:
    """The top-level `version:` of a Chart.yaml, read without a YAML parser (stdlib only)."""
    match = VERSION_LINE.search(chart_yaml)
    return match.group(1) if match else ""
