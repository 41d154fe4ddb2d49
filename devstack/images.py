"""Rollway's own image, built by Rollway's daemonless builder onto a Python base of real files.

One image serves as the step image (`rollway-step <name> …`) and the API server image
(`rollway-apiserver`); it also has `app`. Its layers, slowest-changing first:

  accounts   /etc/passwd and /etc/group with the user 1000, /tmp (1777), mount points
  libraries  the shared libraries python3.11, the extension modules and git load (ldd closure)
  python     Debian's python3.11 and its standard library, byte-compiled        ← the Python base
  tools      sh, git and git-remote-http(s) (what `fetch-chart` and pyhelm3 exec), CA certificates
  helm       the devstack's real helm binary, what `render` runs through pyhelm3
  packages   rollway's dependencies (with the `server` extra), pinned to the project's virtualenv
  rollway    the rollway package and its three commands in /usr/local/bin

Byte code is compiled by the image's own interpreter with unchecked-hash pycs, so a read-only root
file system starts fast and nothing depends on mtimes. The built OCI layout is cached under a key
of every input (Debian package versions, pins, helm, the source tree, the labels); an up-to-date
run only HEADs the registry. Run with the project's virtualenv:

    .venv/bin/python -m devstack.images --registry 127.0.0.1:25000/rollway

Credentials come from ROLLWAY_REGISTRY_USERNAME / ROLLWAY_REGISTRY_PASSWORD, never argv.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import rollway
from rollway.errors import RollwayError
from rollway.image import LayerCache, Platform, RegistryClient, find_credentials, registry_url
from rollway.image.assemble import (
    extend,
    layout_refs,
    push_layout,
    scratch,
    write_layout,
)
from rollway.image.config import CREATED, VERSION
from rollway.image.layer import Layer

from . import pysite
from .components.helm import Helm, helm_binary
from .core import REPO, DevstackError, Paths, locked
from .pysite import PYTHON, PYTHON_PACKAGES, SITE
from .rootfs import RootFs, package_files, package_versions, shared_libraries
from .stack import Context

#: The code that decides the image's bytes: a change to it is a new input, like a new package.
RECIPE = hashlib.sha256(
    b"".join(
        (REPO / path).read_bytes()
        for path in ("devstack/images.py", "devstack/pysite.py", "devstack/rootfs.py",
                     "src/rollway/image/layer.py",
                     "src/rollway/image/assemble.py", "src/rollway/image/config.py")
    )
).hexdigest()  # fmt: skip
STDLIB = "/usr/lib/python3.11"
#: What the steps exec: git (fetch-chart; HTTP through git-remote-http) and a shell (pyhelm3
#: runs helm through /bin/sh, Debian's dash).
TOOLS = ("/bin/sh", "/usr/bin/git", "/usr/lib/git-core/git-remote-http",
         "/usr/lib/git-core/git-remote-https")  # fmt: skip
GIT_TEMPLATES = "/usr/share/git-core/templates/"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
REPOSITORY = "rollway"
BASE_REF, IMAGE_REF = "python-3.11", "rollway"
SOURCE = "https://github.com/rollway/rollway"
#: The commands, as pip would write them, with Debian's interpreter in the shebang.
COMMANDS = {
    "rollway-step": ("rollway.steps.cli", "run"),
    "rollway-apiserver": ("rollway.apiserver.main", "main"),
    "app": ("rollway.cli", "main"),
}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWD = (
    "root:x:0:0:root:/root:/usr/sbin/nologin\nrollway:x:1000:1000:rollway:/tmp:/usr/sbin/nologin\n"
)
GROUP = "root:x:0:\nrollway:x:1000:\n"
LABEL = "org.opencontainers.image"


@dataclasses.dataclass(frozen=True)
class Built:
    """A built (or cached) layout and what it holds."""

    layout: Path
    base: str  # digest of the Python base image
    image: str  # digest of the rollway image
    seconds: float
    cached: bool


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What the image is made of, besides this machine's Debian packages."""

    src: Path  # the folder holding the `rollway` package
    wheels: Path  # the pinned wheels, downloaded once
    pins: tuple[str, ...]
    helm: Path
    revision: str
    source: str


def inputs(*, src: Path = REPO / "src", source: str = SOURCE) -> Inputs:
    """This checkout's inputs; the wheels and helm are fetched into the devstack's cache once."""
    pins = pysite.pinned_requirements()
    downloads = Paths.default().cache / "rollway-image"
    return Inputs(
        src, pysite.wheels(downloads, pins), tuple(pins), _helm(), source_revision(), source
    )


def build(cache: Path, given: Inputs) -> Built:
    """The OCI layout of the Python base and the rollway image, built unless cached."""
    started, since = time.monotonic(), time.time()
    work = cache / "rollway-image"
    layout = work / f"layout-{_inputs_key(given)[:20]}"
    with locked(work / "build.lock"):
        cached = (layout / "index.json").exists()
        if not cached:
            _build_layout(work, layout, given)
            _prune(work, layout, given, since)
    refs = layout_refs(layout)
    return Built(
        layout,
        refs[BASE_REF]["digest"],
        refs[IMAGE_REF]["digest"],
        time.monotonic() - started,
        cached,
    )


def push(built: Built, registry: str, tag: str) -> tuple[str, bool]:
    """Push the image to `registry/rollway:tag`; returns its reference and whether it was
    pushed (False when the tag already pointed at it)."""
    host, _, prefix = registry.partition("/")
    repository = f"{prefix}/{REPOSITORY}" if prefix else REPOSITORY
    name = f"{registry}/{REPOSITORY}:{tag}@{built.image}"
    credentials = find_credentials(host, home=host)
    with RegistryClient(
        host,
        url=registry_url(host),
        credentials=credentials,
        scopes=[f"repository:{repository}:pull,push"],
    ) as client:
        if client.manifest_digest(repository, tag) == built.image:
            return name, False
        digest, _ = push_layout(client, repository, built.layout, IMAGE_REF, tag)
    if digest != built.image:
        raise DevstackError(f"images: pushed {digest}, expected {built.image}")
    return name, True


def source_revision() -> str:
    """The last commit of the packaged sources (`src/rollway`), `-dirty` when they differ from
    it: commits elsewhere in the repository leave the image as it was."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("log", "-1", "--format=%H", "--", "src/rollway")
    if not commit:
        return "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--", "src/rollway") else "")


# -- inputs -----------------------------------------------------------------------------------


def _helm() -> Path:
    """The devstack's helm binary, fetched into its cache when missing."""
    ctx = Context(Paths.default(), {})
    if not helm_binary(ctx).exists():
        Helm().install(ctx)
    return helm_binary(ctx)


def _platform_key(given: Inputs) -> str:
    """Every Debian package (the libraries' too), the pins and helm."""
    helm = f"{given.helm} {given.helm.stat().st_size}"
    return hashlib.sha256(
        f"{RECIPE}\n{package_versions()}\n{given.pins}\n{helm}".encode()
    ).hexdigest()


def _inputs_key(given: Inputs) -> str:
    parts = (_platform_key(given), pysite.sources_key(given.src), given.revision, given.source)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# -- the build --------------------------------------------------------------------------------


def _build_layout(work: Path, layout: Path, given: Inputs) -> None:
    layers = LayerCache(work / "layers")
    # Every layer but rollway's own is keyed by the Debian packages, pins and helm: a change
    # of the sources alone re-reads nothing else.
    platform = _platform_key(given)[:20]
    helm, pins, revision = given.helm, given.pins, given.revision

    def layer(name: str, make: Callable[[], RootFs], what: str) -> tuple[Layer, str]:
        record = work / "records" / f"{name}-{platform}.json"
        try:
            known = json.loads(record.read_text())
            digest = known["digest"]
            built = Layer(digest, known["diff_id"], known["size"], layers.blobs / digest[7:])
            if built.path.stat().st_size == built.size:
                return built, what
        except (OSError, ValueError, KeyError):
            pass  # not built yet
        built, _ = layers.layer(tuple(make().entries.values()))
        record.parent.mkdir(parents=True, exist_ok=True)
        fields = {"digest": built.digest, "diff_id": built.diff_id, "size": built.size}
        record.write_text(json.dumps(fields))
        return built, what

    version = package_versions("python3.11-minimal").split()[1]
    base = extend(
        scratch(Platform("linux", "amd64")),
        [
            layer("accounts", _accounts, "rollway devstack: /etc/passwd, /etc/group, /tmp"),
            layer("libraries", lambda: _libraries(pysite.install(work, given.wheels, given.pins)),
                  "rollway devstack: shared libraries (ldd closure)"),
            layer("python", lambda: _python(work),
                  f"rollway devstack: Debian python3.11 {version}, byte-compiled"),
        ],
        env={"PATH": PATH, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
        user="1000:1000",
        working_dir="/",
        labels={f"{LABEL}.description": f"Debian python3.11 {version} (rollway devstack)"},
    )  # fmt: skip
    labels = {
        f"{LABEL}.title": "rollway",
        VERSION: rollway.__version__,
        f"{LABEL}.source": given.source,
        f"{LABEL}.revision": revision,
        f"{LABEL}.created": CREATED,
        f"{LABEL}.description": "Rollway: rollway-step, rollway-apiserver and app",
    }
    app, _ = layers.layer(tuple(_app(work, given.src).entries.values()))
    image = extend(
        base,
        [
            layer("tools", _tools, "rollway devstack: sh, git, git-remote-http(s), CA certificates"),
            layer("helm", lambda: _tool("usr/local/bin/helm", helm),
                  f"rollway devstack: helm ({helm.parent.name})"),
            layer("packages", lambda: _tree(pysite.install(work, given.wheels, given.pins), SITE),
                  "rollway devstack: Python packages " + " ".join(pins)),
            (app, f"rollway devstack: rollway {rollway.__version__} ({revision})"),
        ],
        env={"HOME": "/tmp", "PYTHONUNBUFFERED": "1"},
        labels=labels,
        cmd=["rollway-apiserver"],
        annotations=labels,
    )  # fmt: skip
    write_layout(layout, {BASE_REF: base, IMAGE_REF: image})


def _prune(work: Path, layout: Path, given: Inputs, since: float) -> None:
    """Remove what the build just made stale: folders it did not use (their `.done` was not
    touched since `since`), older layouts and wheels, and layers the new layout does not hold."""
    for folder in work.iterdir():
        kind = folder.name.split("-", 1)[0]
        if kind in ("packages", "stdlib", "rollway"):
            stale = (folder / ".done").exists() and (folder / ".done").stat().st_mtime < since
        else:
            stale = kind in ("layout", "wheels") and folder not in (layout, given.wheels)
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
    used = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    for blob in (work / "layers" / "blobs" / "sha256").iterdir():
        if blob.name not in used:
            blob.unlink()  # a key or record pointing at it is a miss, and rebuilt


def _accounts() -> RootFs:
    accounts = RootFs()
    accounts.add_data("etc/passwd", PASSWD.encode())
    accounts.add_data("etc/group", GROUP.encode())
    accounts.add_dir("tmp", 0o1777)
    for mountpoint in ("dev", "proc", "sys"):  # where a runtime mounts them (and the tests)
        accounts.add_dir(mountpoint)
    return accounts


def _libraries(site: Path) -> RootFs:
    dynload = [p for p in package_files(*PYTHON_PACKAGES) if p.endswith(".so")]
    extensions = [str(p) for p in sorted(site.rglob("*.so*")) if p.is_file()]
    libraries = RootFs()
    for lib in sorted(shared_libraries([PYTHON, *dynload, *TOOLS, *extensions])):
        if not lib.startswith(str(site)):  # a wheel's own (in its .libs) come with it
            libraries.add(lib)
    return libraries


def _python(work: Path) -> RootFs:
    files = package_files(*PYTHON_PACKAGES)
    python = RootFs()
    for path in files:
        python.add(path)
    python.add_link("usr/bin/python3", "python3.11")
    stdlib = [p for p in files if p.endswith(".py") and p.startswith(STDLIB + "/")]
    pysite.add_stdlib_pycs(python, work, stdlib)
    return python


def _tools() -> RootFs:
    git = RootFs()
    for path in TOOLS:
        git.add(path)
    git.add_link("usr/lib/git-core/git", "../../bin/git")  # what git runs its builtins as
    for path in package_files("git"):
        if path.startswith(GIT_TEMPLATES):
            git.add(path)
    # The bundle as update-ca-certificates makes it, from Debian's Mozilla certificates only
    # (this machine's own additions stay out): git over HTTPS verifies with it.
    mozilla = sorted(p for p in package_files("ca-certificates") if p.endswith(".crt"))
    git.add_data(CA_BUNDLE, b"".join(Path(p).read_bytes() for p in mozilla))
    return git


def _tool(path: str, binary: Path) -> RootFs:
    tool = RootFs()
    tool.add_file(path, binary, 0o755)
    return tool


def _app(work: Path, src: Path) -> RootFs:
    app = _tree(pysite.rollway_tree(work, src), SITE)
    for command, (module, function) in COMMANDS.items():
        script = (
            f"#!{PYTHON}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
        )
        app.add_data(f"usr/local/bin/{command}", script.encode(), 0o755)
    return app


def _tree(folder: Path, at: str) -> RootFs:
    """Every file, symlink and directory under `folder`, at `at` in the image."""
    rootfs = RootFs()
    for path in sorted(folder.rglob("*")):
        image_path = f"{at}/{path.relative_to(folder).as_posix()}"
        if path.is_symlink():
            rootfs.add_link(image_path, os.readlink(path))
        elif path.is_dir():
            rootfs.add_dir(image_path)
        else:
            rootfs.add_file(image_path, path)
    return rootfs


# -- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.images", description="Build and push Rollway's image."
    )
    parser.add_argument("--registry", help="where to push, e.g. 127.0.0.1:25000/rollway")
    parser.add_argument("--tag", default=rollway.__version__, help="default: rollway's version")
    parser.add_argument("--source", default=SOURCE, help="the source label")
    parser.add_argument("--ref-file", type=Path, help="also write the pushed reference here")
    parser.add_argument("--cache", type=Path, default=Paths.default().cache)
    args = parser.parse_args(argv)
    try:
        built = build(args.cache, inputs(source=args.source))
        what = "cached" if built.cached else "built"
        print(f"{what} {built.layout} in {built.seconds:.1f}s: {built.image}", file=sys.stderr)
        if not args.registry:
            print(built.layout)
            return 0
        reference, pushed = push(built, args.registry, args.tag)
    except (DevstackError, RollwayError) as err:
        print(f"images: {err}", file=sys.stderr)
        return 1
    print(f"{'pushed' if pushed else 'up to date'}: {reference}", file=sys.stderr)
    if args.ref_file:
        args.ref_file.write_text(reference + "\n")
    print(reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
