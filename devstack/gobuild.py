"""Build Go programs from the module proxy into the version-keyed cache.

Kubernetes and the Argo Rollouts controller are built from ONE copy of the argo-rollouts module:
its go.mod already pins `k8s.io/kubernetes` and replaces every staging module with the matching
version, so both share a single module graph and Go build cache.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from .core import DevstackError, locked, run

ROLLOUTS_VERSION = "v1.10.1"
KUBERNETES_VERSION = "v1.34.5"  # what argo-rollouts v1.10.1's go.mod pins
ETCD_VERSION = "v3.6.4"  # what k8s.io/kubernetes v1.34.5 requires
KWOK_VERSION = "v0.8.0"
WORKFLOWS_VERSION = "v3.7.9"

#: The control plane, kubectl, and the real node's kubelet and kube-proxy: one module graph.
KUBE_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "kube-proxy",
)
#: The etcd server kubernetes pins (Debian's 3.4 lacks the watch progress requests that
#: client-go's streaming lists need), built from the same module graph.
ETCD_PACKAGE = "go.etcd.io/etcd/server/v3"


def go_env() -> dict[str, str]:
    # GOTOOLCHAIN=local: never download another toolchain behind our back.
    return {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}


def module_info(module: str, version: str, log: Path) -> dict[str, str]:
    """`go mod download -json module@version`: where the module is on disk, its .info file…"""
    if shutil.which("go") is None:
        raise DevstackError("the Go toolchain is not installed (needed to build devstack binaries)")
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        env=go_env(),
        cwd="/",
        check=False,
    )
    info = json.loads(proc.stdout or "{}")
    if proc.returncode != 0 or "Dir" not in info:
        with log.open("a") as out:
            out.write(proc.stdout + proc.stderr)
        raise DevstackError(f"go mod download {module}@{version} failed: {info.get('Error', '')}")
    return info  # type: ignore[no-any-return]


def module_dir(module: str, version: str, log: Path) -> Path:
    """Download a module through the Go proxy and return its (read-only) directory."""
    return Path(module_info(module, version, log)["Dir"])


def upstream_proxy() -> str:
    proc = subprocess.run(["go", "env", "GOPROXY"], capture_output=True, text=True, check=False)
    first = (proc.stdout.strip() or "https://proxy.golang.org").split(",")[0].split("|")[0]
    return first if first.startswith("http") else "https://proxy.golang.org"


def fill_local_proxy(cache: Path, go_mod: Path) -> str:
    """A file:// GOPROXY holding the `.mod` files the upstream proxy refuses to serve.

    The module proxy reachable here answers 403 for the `.mod` of some k8s staging modules while
    serving their zips; Go only needs the go.mod, which is inside the zip. Returns a GOPROXY value
    that tries the local copy first and falls back to upstream.
    """
    local = cache / "goproxy"
    upstream = upstream_proxy()
    pins = re.findall(
        r"^\s*(k8s\.io/[\w.-]+) => k8s\.io/[\w.-]+ (v[\w.-]+)$", go_mod.read_text(), re.M
    )
    for module, version in pins:
        target = local / module / "@v" / f"{version}.mod"
        if target.exists() or _fetch(f"{upstream}/{module}/@v/{version}.mod") is not None:
            continue
        archive = _fetch(f"{upstream}/{module}/@v/{version}.zip")
        if archive is None:
            continue  # not needed by what we build, or truly missing: go will say which
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            mod = zf.read(f"{module}@{version}/go.mod")
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / f"{version}.zip").write_bytes(archive)
        (target.parent / f"{version}.info").write_text(json.dumps({"Version": version}))
        target.write_bytes(mod)
    return f"file://{local},{upstream}"


def _fetch(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return bytes(resp.read())
    except (urllib.error.URLError, OSError):
        return None


def rollouts_source(cache: Path, log: Path) -> Path:
    """A writable copy of the argo-rollouts module (go.mod has replace directives)."""
    src = cache / f"src-argo-rollouts-{ROLLOUTS_VERSION}"
    if not (src / ".complete").exists():
        shutil.rmtree(src, ignore_errors=True)
        tmp = src.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(module_dir("github.com/argoproj/argo-rollouts", ROLLOUTS_VERSION, log), tmp)
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        (tmp / ".complete").touch()
        tmp.rename(src)
    return src


def kube_binaries(cache: Path, log: Path) -> Path:
    """KUBE_COMMANDS and etcd at KUBERNETES_VERSION; builds only the ones not there yet."""
    bindir = cache / f"kubernetes-{KUBERNETES_VERSION}" / "bin"
    with locked(cache / "locks" / "go-build"):
        missing = [c for c in KUBE_COMMANDS if not (bindir / c).exists()]
        if not missing and (bindir / "etcd").exists():
            return bindir
        src = rollouts_source(cache, log)
        tmp = bindir.with_name("bin.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        minor = KUBERNETES_VERSION.split(".")[1]
        ldflags = (
            "-s -w"
            f" -X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}"
            f" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor={minor}"
            " -X k8s.io/component-base/version.gitTreeState=clean"
        )
        env = kube_build_env(cache, src)
        if missing:
            run(["go", "build", "-ldflags", ldflags, "-o", f"{tmp}/",
                 *(f"k8s.io/kubernetes/cmd/{c}" for c in missing)],
                log=log, cwd=src, env=env)  # fmt: skip
        if not (bindir / "etcd").exists():
            run(["go", "build", "-ldflags", "-s -w", "-o", tmp / "etcd", ETCD_PACKAGE],
                log=log, cwd=src, env=env)  # fmt: skip
        bindir.mkdir(parents=True, exist_ok=True)
        for built in tmp.iterdir():  # each binary appears whole: rename within one directory tree
            built.rename(bindir / built.name)
        tmp.rmdir()
    return bindir


def kube_build_env(cache: Path, src: Path) -> dict[str, str]:
    """The staging modules kube needs beyond rollouts' go.sum are not in the checksum DB that this
    machine can reach; the module proxy still serves them, so skip the DB for them."""
    return {
        **go_env(),
        "GOPROXY": fill_local_proxy(cache, src / "go.mod"),
        "GONOSUMDB": "k8s.io,go.etcd.io",
        "GOFLAGS": "-mod=mod",
    }


def rollouts_controller(cache: Path, log: Path) -> Path:
    binary = cache / f"argo-rollouts-{ROLLOUTS_VERSION}" / "rollouts-controller"
    with locked(cache / "locks" / "go-build"):
        if not binary.exists():
            src = rollouts_source(cache, log)
            binary.parent.mkdir(parents=True, exist_ok=True)
            ldflags = f"-s -w -X github.com/argoproj/argo-rollouts/utils/version.version={ROLLOUTS_VERSION}"
            tmp = binary.with_suffix(".tmp")
            run(["go", "build", "-ldflags", ldflags, "-o", tmp, "./cmd/rollouts-controller"],
                log=log, cwd=src, env=go_env())  # fmt: skip
            tmp.rename(binary)
    return binary


def rollouts_crds(cache: Path, log: Path) -> Path:
    return rollouts_source(cache, log) / "manifests" / "crds"


def go_install(cache: Path, log: Path, package: str, version: str, name: str) -> Path:
    """`go install pkg@version` into cache/<name>-<version>/ (modules without replace directives)."""
    binary = cache / f"{name}-{version}" / name
    with locked(cache / "locks" / "go-build"):
        if not binary.exists():
            tmp = binary.parent.with_name(binary.parent.name + ".tmp")
            run(["go", "install", "-ldflags", "-s -w", f"{package}@{version}"],
                log=log, env={**go_env(), "GOBIN": str(tmp)})  # fmt: skip
            tmp.rename(binary.parent)
    return binary
