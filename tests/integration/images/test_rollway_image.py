"""Rollway's own image: pushed on `up`, runnable without a container runtime, reproducible.

The pushed image is copied out of the devstack's registry by skopeo (not by Rollway's code), its
layers are unpacked into a directory, and its commands run there under chroot as the image's user
1000 — among them the real fetch-chart and render steps against the devstack's git server, which
exec git (over HTTP) and helm.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

import rollway
from devstack import images
from devstack.components.git import GitServer
from devstack.components.images import PREFIX, RollwayImages
from devstack.components.keycloak import Keycloak
from devstack.components.registry import Registry
from devstack.core import REPO
from devstack.stack import Context, up
from tests.support.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

CHROOT = "/usr/sbin/chroot"
#: Mount /dev and /proc in a private mount namespace (gone with it), then chroot as user 1000.
ENTER = (
    'root="$1"; shift; mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" && '
    f'exec {CHROOT} --userspec=1000:1000 "$root" "$@"'
)
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LABEL = "org.opencontainers.image"


@pytest.fixture(scope="module")
def reference(devstack: Context) -> str:
    up(devstack, ["rollway-images"], echo=lambda line: print(line, file=sys.stderr))
    return RollwayImages().exports(devstack)["ROLLWAY_STEP_IMAGE"]


@pytest.fixture(scope="module")
def pulled(
    reference: str, devstack: Context, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, object], dict[str, object], Path]:
    """(manifest, config, blobs dir) of the pushed image, as skopeo copies it to an OCI dir."""
    env = Registry().exports(devstack)
    folder = tmp_path_factory.mktemp("pulled")
    authfile = folder / "auth.json"
    authfile.touch(mode=0o600)
    token = f"{env['ROLLWAY_REGISTRY_USERNAME']}:{env['ROLLWAY_REGISTRY_PASSWORD']}"
    registry = {"auth": base64.b64encode(token.encode()).decode()}
    authfile.write_text(json.dumps({"auths": {env["ROLLWAY_REGISTRY"]: registry}}))
    name, _, digest = reference.partition("@")
    source = f"docker://{name.rsplit(':', 1)[0]}@{digest}"  # skopeo takes a tag or a digest
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-authfile", str(authfile), "--src-tls-verify=false",
         source, f"oci:{folder / 'oci'}:rollway"],
        check=True,
    )  # fmt: skip
    blobs = folder / "oci" / "blobs" / "sha256"
    index = json.loads((folder / "oci" / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"][7:]).read_text())
    return manifest, config, blobs


@pytest.fixture(scope="module")
def rootfs(
    pulled: tuple[dict[str, object], dict[str, object], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    manifest, _, blobs = pulled
    root = tmp_path_factory.mktemp("rootfs")
    root.chmod(0o755)  # `/` as a runtime makes it (mktemp's 0700 would lock user 1000 out)
    for layer in manifest["layers"]:  # type: ignore[attr-defined]
        subprocess.run(
            ["tar", "-xzf", str(blobs / layer["digest"][7:]), "-C", str(root)], check=True
        )
    return root


def in_image(
    root: Path, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `command` in the unpacked image as uid 1000 with only `env` (secrets stay off argv)."""
    return subprocess.run(
        _entering(root, command),
        env=_image_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _entering(root: Path, command: Sequence[str]) -> list[str]:
    return ["unshare", "--mount", "sh", "-c", ENTER, "sh", str(root), *command]


def _image_env(env: dict[str, str] | None) -> dict[str, str]:
    return {"PATH": IMAGE_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", **(env or {})}


def test_the_devstack_exports_the_pushed_image_by_digest(
    reference: str, pulled: tuple[dict[str, object], dict[str, object], Path]
) -> None:
    assert re.fullmatch(
        rf"{re.escape(PREFIX)}/rollway:{re.escape(rollway.__version__)}@sha256:[0-9a-f]{{64}}",
        reference,
    )
    manifest, _, _ = pulled
    raw = json.dumps(manifest)  # skopeo kept the manifest; its layers are the image's 7
    assert len(manifest["layers"]) == 7, raw  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["/usr/local/bin/rollway-step", "--help"], "Usage: rollway-step"),
        (["/usr/local/bin/rollway-apiserver", "--help"], "Usage: rollway-apiserver"),
        (["/usr/local/bin/app", "--help"], "Usage: app"),
        (["helm", "version", "--short"], "v3.17.3"),
        (["git", "--version"], "git version 2."),
    ],
)
def test_each_command_runs_as_user_1000(rootfs: Path, command: list[str], expected: str) -> None:
    result = in_image(rootfs, *command)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_python_has_what_the_steps_and_the_server_import(rootfs: Path) -> None:
    code = (
        "import os, pwd, sqlite3, ssl, lzma, bz2, uuid, ctypes\n"
        "import rollway.steps.cli, rollway.apiserver.app, rollway.image, uvloop, psycopg\n"
        "cas = ssl.create_default_context(cafile='/etc/ssl/certs/ca-certificates.crt')\n"
        "print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name, len(cas.get_ca_certs()))\n"
    )
    result = in_image(rootfs, "python3.11", "-c", code)
    assert result.returncode == 0, result.stderr
    uid, user, cas = result.stdout.split()
    assert (uid, user) == ("1000", "rollway")
    assert int(cas) > 100  # Debian's Mozilla set, for git over HTTPS


def test_byte_code_is_compiled_ahead_and_never_checks_mtimes(rootfs: Path) -> None:
    """Unchecked-hash pycs (flags = 1) for the stdlib, the packages and rollway: a read-only
    root file system imports them without compiling."""
    for pyc in (
        "usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
        "usr/local/lib/python3.11/dist-packages/click/__pycache__/core.cpython-311.pyc",
        "usr/local/lib/python3.11/dist-packages/rollway/steps/__pycache__/cli.cpython-311.pyc",
    ):
        header = (rootfs / pyc).read_bytes()[:8]
        assert int.from_bytes(header[4:8], "little") == 1, pyc
    result = in_image(
        rootfs, "python3.11", "-c", "import rollway.steps.cli as m; print(m.__spec__.cached)"
    )
    assert result.returncode == 0, result.stderr
    assert (rootfs / result.stdout.strip().lstrip("/")).exists()


def test_fetch_chart_and_render_run_in_the_image(rootfs: Path, devstack: Context) -> None:
    git = GitServer().exports(devstack)
    work = rootfs / "tmp" / "steps"
    shutil.rmtree(work, ignore_errors=True)
    fetch = in_image(
        rootfs, "rollway-step", "fetch-chart", "--repo", git["ROLLWAY_CHART_REPO"],
        "--ref", "main", "--dest", "/tmp/steps/checkout", "--outputs-dir", "/tmp/steps/fetched",
        env={"ROLLWAY_GIT_TOKEN": git["ROLLWAY_GIT_TOKEN"], "ROLLWAY_GIT_URL": git["ROLLWAY_GIT_URL"]},
    )  # fmt: skip
    assert fetch.returncode == 0, fetch.stderr
    assert re.fullmatch(r"[0-9a-f]{40}", (work / "fetched" / "commit").read_text().strip())
    chart = (work / "fetched" / "chart-dir").read_text().strip()
    render = in_image(
        rootfs, "rollway-step", "render", "--chart", chart, "--release", "hello",
        "--namespace", "team-a", "--image", f"{PREFIX}/hello@sha256:{'0' * 64}",
        "--strategy", "bluegreen", "--out", "/tmp/steps/manifests.yaml",
        "--outputs-dir", "/tmp/steps/rendered",
    )  # fmt: skip
    assert render.returncode == 0, render.stderr
    assert "kind: Rollout" in (work / "manifests.yaml").read_text()


def test_the_api_server_serves_from_the_image(rootfs: Path, devstack: Context) -> None:
    """uvicorn, SQLAlchemy on SQLite and the migrations, as the image's user, state in /tmp."""
    port = free_port()
    keycloak = Keycloak().exports(devstack)
    server = subprocess.Popen(
        _entering(rootfs, ["rollway-apiserver", "--port", str(port), "--state-dir", "/tmp/api"]),
        env=_image_env(
            {k: keycloak[k] for k in ("ROLLWAY_KEYCLOAK_URL", "ROLLWAY_KEYCLOAK_REALM")}
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = wait_for("/readyz", lambda: _status(f"http://127.0.0.1:{port}/readyz") == 200
                         or server.poll() is not None, timeout=60)  # fmt: skip
        assert ready and server.poll() is None, server.stderr.read() if server.stderr else ""
        assert (rootfs / "tmp" / "api").is_dir()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None


def test_the_image_runs_as_user_1000_and_says_what_it_is(
    pulled: tuple[dict[str, object], dict[str, object], Path],
) -> None:
    manifest, config, _ = pulled
    container = config["config"]
    assert container["User"] == "1000:1000"  # type: ignore[index]
    assert container["Cmd"] == ["rollway-apiserver"]  # type: ignore[index]
    labels = container["Labels"]  # type: ignore[index]
    assert labels[f"{LABEL}.version"] == rollway.__version__
    assert labels[f"{LABEL}.source"] == images.SOURCE
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", labels[f"{LABEL}.revision"])
    assert labels[f"{LABEL}.created"] == config["created"] == "1970-01-01T00:00:01Z"
    assert manifest["annotations"][f"{LABEL}.version"] == rollway.__version__  # type: ignore[index]


def test_same_inputs_give_the_same_digest(tmp_path: Path) -> None:
    """Two cold builds in separate caches agree to the byte; a changed source changes only the
    rollway layer. The sources are a snapshot, so edits elsewhere cannot race the test."""
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "src" / "rollway", src / "rollway", ignore=shutil.ignore_patterns("__pycache__")
    )
    given = images.inputs(src=src)
    one, two = images.build(tmp_path / "one", given), images.build(tmp_path / "two", given)
    assert not one.cached and not two.cached
    assert (one.base, one.image) == (two.base, two.image)
    blobs = [sorted(p.name for p in b.layout.joinpath("blobs", "sha256").iterdir()) for b in (one, two)]  # fmt: skip
    assert blobs[0] == blobs[1]
    again = images.build(tmp_path / "one", given)
    assert again.cached and again.image == one.image
    before = _layers(one.layout, one.image)

    (src / "rollway" / "_probe.py").write_text("CHANGED = True\n")
    changed = images.build(tmp_path / "one", images.inputs(src=src))
    assert changed.base == one.base and changed.image != one.image
    after = _layers(changed.layout, changed.image)
    assert before[:-1] == after[:-1] and before[-1] != after[-1]
    # What the new build made stale is gone: the old layout, its rollway tree and layer.
    work = tmp_path / "one" / "rollway-image"
    assert [p.name for p in work.glob("layout-*")] == [changed.layout.name]
    assert len(list(work.glob("rollway-*"))) == 1
    kept = {p.name for p in work.joinpath("layers", "blobs", "sha256").iterdir()}
    assert kept == {d[7:] for d in after}


def _layers(layout: Path, digest: str) -> list[str]:
    manifest = json.loads(layout.joinpath("blobs", "sha256", digest[7:]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]
