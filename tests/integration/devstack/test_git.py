"""The git server standing in for Gitea: its auth, clone/fetch/push with a real git, and seeding.

Credentials reach git through GIT_ASKPASS or `http.extraHeader` set in the environment, never on
argv or in URLs. GIT_TERMINAL_PROMPT=0 and a timeout make a missing credential fail, not hang.
"""

from __future__ import annotations

import os
import random
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.components.git import GitServer, chart_version, create_repo, seed_charts
from devstack.core import REPO
from devstack.stack import Context

pytestmark = pytest.mark.integration

TIMEOUT = 120  # seconds any one git command may take
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@rollway.local",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@rollway.local",
}
ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$TEST_GIT_USERNAME" ;;
  *) printf '%s\\n' "$TEST_GIT_PASSWORD" ;;
esac
"""


class Quiet(dict[str, str]):
    """Values holding credentials; shows only its keys, so pytest never prints a secret."""

    def __repr__(self) -> str:
        return f"Quiet({sorted(self)})"


@pytest.fixture(scope="module")
def env(devstack: Context) -> Quiet:
    return Quiet(GitServer().exports(devstack))


@pytest.fixture(scope="module")
def url(env: dict[str, str]) -> str:
    return env["ROLLWAY_CHART_REPO"]


@pytest.fixture(scope="module")
def version() -> str:
    return chart_version((REPO / "charts" / "app" / "Chart.yaml").read_text())


@pytest.fixture(scope="module")
def askpass(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("askpass") / "askpass.sh"
    path.write_text(ASKPASS)
    path.chmod(0o700)
    return str(path)


@pytest.fixture(scope="module")
def creds(env: Quiet, askpass: str) -> dict[str, Quiet]:
    """Environment additions giving git one way of (not) authenticating, by name."""

    def basic(user: str, password: str) -> Quiet:
        return Quiet(GIT_ASKPASS=askpass, TEST_GIT_USERNAME=user, TEST_GIT_PASSWORD=password)

    def header(value: str) -> Quiet:
        return Quiet(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: {value}",
        )

    user, password, token = (env[f"ROLLWAY_GIT_{k}"] for k in ("USERNAME", "PASSWORD", "TOKEN"))
    return {
        "password": basic(user, password),
        "token-as-password": basic("anyone", token),
        "token-header": header(f"token {token}"),
        "bearer-header": header(f"Bearer {token}"),
        "none": Quiet(),
        "wrong-password": basic(user, f"{password}x"),
        "token-as-wrong-user-password": basic("anyone", password),
        "wrong-token-header": header(f"token {token}x"),
    }


def git(
    *args: str, auth: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a real git with no user or system config, no terminal prompt and a bounded runtime."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_ASKPASS"))}
    clean = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**base, **clean, **IDENTITY, **auth},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{' '.join(proc.args)} failed: {proc.stderr[-2000:]}"
    return proc.stdout.strip()


def remote_refs(url: str, auth: dict[str, str]) -> dict[str, str]:
    lines = ok(git("ls-remote", url, auth=auth)).splitlines()
    return {ref: sha for sha, ref in (line.split("\t") for line in lines)}


@pytest.fixture
def branch(url: str, creds: dict[str, Quiet]) -> Iterator[str]:
    """A fresh branch name for a test to push to; deleted from the server afterwards."""
    name = f"test/{uuid.uuid4().hex[:12]}"
    yield name
    if f"refs/heads/{name}" in remote_refs(url, creds["password"]):
        ok(git("push", url, f":refs/heads/{name}", auth=creds["password"]))


def clone(url: str, path: Path, auth: dict[str, str], *extra: str) -> Path:
    ok(git("clone", "--quiet", *extra, url, str(path), auth=auth))
    return path


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["password", "token-as-password", "token-header", "bearer-header"])
def test_ls_remote_with_credentials(
    url: str, version: str, creds: dict[str, Quiet], how: str
) -> None:
    refs = remote_refs(url, creds[how])
    assert refs["HEAD"] == refs["refs/heads/main"]
    assert f"refs/tags/v{version}" in refs


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("none", "terminal prompts disabled"),
        ("wrong-password", "Authentication failed"),
        ("token-as-wrong-user-password", "Authentication failed"),
        # After a 401 to its extra header, git asks for a user name, and may not prompt.
        ("wrong-token-header", "terminal prompts disabled"),
    ],
)
def test_ls_remote_refused(url: str, creds: dict[str, Quiet], how: str, error: str) -> None:
    proc = git("ls-remote", url, auth=creds[how])
    assert proc.returncode != 0
    assert error in proc.stderr


def test_http_challenge_and_statuses(env: Quiet, url: str) -> None:
    refs = f"{url}/info/refs"
    service = {"service": "git-upload-pack"}
    token = Quiet(Authorization=f"token {env['ROLLWAY_GIT_TOKEN']}")
    with httpx.Client(timeout=30) as client:
        denied = client.get(refs, params=service)
        assert denied.status_code == 401
        assert denied.headers["WWW-Authenticate"] == 'Basic realm="Gitea"'
        served = client.get(refs, params=service, headers=token)
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
        # A CGI `Status:` from http-backend comes through; paths outside /<org>/<repo>.git do not.
        missing = f"{env['ROLLWAY_GIT_URL']}/rollway/missing.git/info/refs"
        assert client.get(missing, params=service, headers=token).status_code == 404
        assert client.get(f"{env['ROLLWAY_GIT_URL']}/etc/passwd", headers=token).status_code == 404


# --- reading ---------------------------------------------------------------------------------


def test_shallow_clone_at_tag(
    url: str, version: str, creds: dict[str, Quiet], tmp_path: Path
) -> None:
    work = clone(url, tmp_path / "c", creds["password"], "--depth", "1", "--branch", f"v{version}")
    assert chart_version((work / "charts" / "app" / "Chart.yaml").read_text()) == version
    assert ok(git("rev-list", "--count", "HEAD", auth={}, cwd=work)) == "1"
    assert ok(git("rev-parse", "--is-shallow-repository", auth={}, cwd=work)) == "true"


@pytest.mark.parametrize("protocol", ["0", "2"])
def test_fetch_commits_by_id(
    url: str, creds: dict[str, Quiet], tmp_path: Path, branch: str, protocol: str
) -> None:
    """Fetching a commit that no ref points at needs uploadpack.allowReachableSHA1InWant (v0)."""
    auth = creds["password"]
    work = clone(url, tmp_path / "c", auth)
    for n in (1, 2):
        ok(git("commit", "--quiet", "--allow-empty", "-m", f"step {n}", auth=auth, cwd=work))
    ok(git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", auth=auth, cwd=work))
    inner = ok(git("rev-parse", "HEAD~1", auth=auth, cwd=work))
    main = remote_refs(url, auth)["refs/heads/main"]
    fresh = tmp_path / "fresh"
    ok(git("init", "--quiet", str(fresh), auth=auth))
    for sha in (main, inner):
        fetch = ("-c", f"protocol.version={protocol}", "fetch", "--quiet", "--depth", "1", url, sha)
        ok(git(*fetch, auth=auth, cwd=fresh))
        assert ok(git("rev-parse", "FETCH_HEAD", auth=auth, cwd=fresh)) == sha


@pytest.mark.parametrize("protocol", ["0", "2"])
def test_protocol_versions(url: str, creds: dict[str, Quiet], protocol: str) -> None:
    auth = {**creds["token-header"], "GIT_TRACE_PACKET": "1"}
    proc = git("-c", f"protocol.version={protocol}", "ls-remote", url, auth=auth)
    assert "refs/heads/main" in ok(proc)
    assert ("< version 2" in proc.stderr) == (protocol == "2")


def test_fetch_with_gzip_request_body(url: str, creds: dict[str, Quiet], tmp_path: Path) -> None:
    """Many local commits unknown to the server make git gzip its negotiation request."""
    work = tmp_path / "w"
    ok(git("init", "--quiet", str(work), auth={}))
    stream = "".join(
        f"commit refs/heads/local\ncommitter T <t@t> {n} +0000\ndata 3\nc{n:02d}\n\n"
        for n in range(40)
    )
    imported = subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=work, input=stream, text=True, timeout=TIMEOUT
    )
    assert imported.returncode == 0
    trace = {"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}
    proc = git("fetch", url, "main", auth={**creds["password"], **trace}, cwd=work)
    ok(proc)
    assert "Content-Encoding: gzip" in proc.stderr  # else this test no longer tests gzip
    main = remote_refs(url, creds["password"])["refs/heads/main"]
    assert ok(git("rev-parse", "FETCH_HEAD", auth={}, cwd=work)) == main


# --- writing ---------------------------------------------------------------------------------


def test_push_new_chart_revision(
    url: str, creds: dict[str, Quiet], tmp_path: Path, branch: str
) -> None:
    auth = creds["password"]
    work = clone(url, tmp_path / "c", auth)
    (work / "charts" / "app" / "values-test.yaml").write_text("replicaCount: 3\n")
    ok(git("add", "charts", auth={}, cwd=work))
    ok(git("commit", "--quiet", "-m", "test revision", auth={}, cwd=work))
    head = ok(git("rev-parse", "HEAD", auth={}, cwd=work))
    push = ("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")

    refused = git(*push, auth=creds["none"], cwd=work)
    assert refused.returncode != 0
    assert f"refs/heads/{branch}" not in remote_refs(url, auth)

    ok(git(*push, auth=creds["token-header"], cwd=work))
    assert remote_refs(url, auth)[f"refs/heads/{branch}"] == head


def test_push_chunked_body(url: str, creds: dict[str, Quiet], tmp_path: Path, branch: str) -> None:
    """A pack bigger than http.postBuffer goes out with `Transfer-Encoding: chunked`."""
    auth = creds["token-as-password"]
    work = clone(url, tmp_path / "c", auth)
    blob = random.Random(7).randbytes(300_000)  # incompressible, so the pack stays this big
    (work / "blob.bin").write_bytes(blob)
    ok(git("add", "blob.bin", auth={}, cwd=work))
    ok(git("commit", "--quiet", "-m", "big", auth={}, cwd=work))
    trace = {"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}
    push = ("-c", "http.postBuffer=65536", "push", "origin", f"HEAD:refs/heads/{branch}")
    proc = git(*push, auth={**auth, **trace}, cwd=work)
    ok(proc)
    assert "Transfer-Encoding: chunked" in proc.stderr.split("git-receive-pack HTTP")[-1]

    again = clone(url, tmp_path / "again", auth, "--depth", "1", "--branch", branch)
    assert (again / "blob.bin").read_bytes() == blob


# --- seeding ---------------------------------------------------------------------------------


def test_served_repo_holds_current_charts(
    devstack: Context, url: str, creds: dict[str, Quiet]
) -> None:
    """Seeding again changes nothing, and what it reports is what the server serves."""
    main = seed_charts(GitServer().chart_repo(devstack))
    assert remote_refs(url, creds["password"])["refs/heads/main"] == main


def chart(root: Path, version: str, **files: str) -> None:
    app = root / "charts" / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "Chart.yaml").write_text(f"apiVersion: v2\nname: app\nversion: {version}\n")
    for name, text in files.items():
        (app / name).write_text(text)


def bare(repo: Path, *args: str) -> str:
    return ok(git("--git-dir", str(repo), *args, auth={}))


def test_seed_commits_changes_and_tags_versions(tmp_path: Path) -> None:
    repo, src = tmp_path / "charts.git", tmp_path / "src"
    create_repo(repo)
    chart(src, "1.0.0")
    first = seed_charts(repo, src)
    assert seed_charts(repo, src) == first  # idempotent
    assert bare(repo, "rev-parse", "refs/heads/main", "refs/tags/v1.0.0").split() == [first] * 2
    assert bare(repo, "ls-tree", "-r", "--name-only", "main") == "charts/app/Chart.yaml"
    who = "Rollway Devstack <devstack@rollway.local>"
    assert bare(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main") == f"{who}|{who}"

    chart(src, "1.0.0", **{"values.yaml": "replicaCount: 1\n"})
    edited = seed_charts(repo, src)
    assert bare(repo, "rev-parse", f"{edited}^") == first
    assert bare(repo, "rev-parse", "refs/tags/v1.0.0") == edited  # the tag follows the checkout

    chart(src, "1.1.0", **{"values.yaml": "replicaCount: 1\n"})
    bumped = seed_charts(repo, src)
    assert bare(repo, "rev-parse", f"{bumped}^") == edited
    assert bare(repo, "rev-parse", "refs/tags/v1.1.0", "refs/tags/v1.0.0").split() == [
        bumped,
        edited,  # the old version's tag stays on its last commit
    ]
    assert bare(repo, "config", "uploadpack.allowReachableSHA1InWant") == "true"
