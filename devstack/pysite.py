"""Python code for an image, as pip installs it, byte-compiled by the image's own interpreter.

The third-party packages are the ones rollway[server] needs, pinned to the versions of the
project's virtualenv (the ones the tests ran with), installed from wheels downloaded once. The
rollway package comes from the source tree. Everything is compiled ahead into unchecked-hash pycs
(no mtimes; co_filename is the path in the image), so a read-only root file system never compiles.
Each result is a folder in the cache, filled once and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import rollway

from .core import DevstackError
from .rootfs import RootFs, package_versions

PYTHON = "/usr/bin/python3.11"
PYTHON_PACKAGES = ("python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib")
#: Debian's python3.11 puts this directory on sys.path: no PYTHONPATH or .pth is needed.
SITE = "/usr/local/lib/python3.11/dist-packages"
CACHE_TAG = "cpython-311"
#: This module decides what its cached folders hold: an edit to it invalidates them.
CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
#: What pip put beside the packages that nothing in the image runs or imports: console scripts
#: for the virtualenv's python, documents, and the kubernetes client's asyncio twin (68 MB).
UNUSED = ("bin", "share", "kubernetes/aio")

# The interpreter that runs the image compiles its byte code: unchecked-hash pycs hold no mtime,
# and co_filename is the file's path in the image.
_COMPILE = """
import json, py_compile, sys
from concurrent.futures import ProcessPoolExecutor
def one(job):
    try:
        py_compile.compile(job[0], cfile=job[1], dfile=job[2], doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        pass  # test data in invalid syntax (lib2to3) stays source only, as compileall leaves it
jobs = json.load(sys.stdin)
with ProcessPoolExecutor() as pool:
    list(pool.map(one, jobs, chunksize=64))
"""


def pinned_requirements() -> list[str]:
    """`name==version` of every distribution rollway[server] needs, as this virtualenv has
    them: the image gets exactly the versions the tests ran with."""
    wanted: dict[str, set[str]] = {}
    todo = [("rollway", {"server"})]
    while todo:
        name, extras = todo.pop()
        for line in metadata.distribution(name).requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
                continue
            key = canonicalize_name(req.name)
            if key == "rollway" or (key in wanted and req.extras <= wanted[key]):
                continue
            wanted[key] = wanted.get(key, set()) | req.extras
            todo.append((key, req.extras))
    return sorted(f"{key}=={metadata.version(key)}" for key in wanted)


def sources(src: Path) -> list[Path]:
    """The files of the rollway package under `src` (no byte code)."""
    root = src / "rollway"
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def sources_key(src: Path) -> str:
    """A digest of the package's files and this module: what `rollway_tree` is cached by."""
    sha = hashlib.sha256(CODE.encode())
    for path in sources(src):
        sha.update(f"\n{path.relative_to(src)}\n".encode() + path.read_bytes())
    return sha.hexdigest()


def wheels(downloads: Path, pins: list[str]) -> Path:
    """The pinned wheels, downloaded from the package index once (builds then need no network)."""
    key = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:20]

    def fill(tmp: Path) -> None:
        _pip(["download", "--no-deps", "--only-binary=:all:", "--dest", str(tmp)], pins)

    return _cached_dir(downloads / f"wheels-{key}", fill)


def _pip(args: list[str], pins: list[str] | tuple[str, ...]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write("\n".join(pins) + "\n")
        requirements.flush()
        command = [sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check",
                   "-r", requirements.name]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DevstackError(f"images: pip {args[0]} failed: {proc.stderr.strip()[-2000:]}")


def _stdlib_key() -> str:
    versions = package_versions(*PYTHON_PACKAGES)
    return hashlib.sha256(f"{CODE}\n{versions}".encode()).hexdigest()[:20]


def _pyc(path: str) -> str:
    """Where the interpreter looks for the byte code of `path`."""
    folder, name = os.path.split(path)
    return os.path.join(folder, "__pycache__", f"{name[:-3]}.{CACHE_TAG}.pyc")


def _compile(jobs: list[tuple[str, str, str]]) -> None:
    """Compile (source, pyc, path in the image) jobs with the image's interpreter."""
    proc = subprocess.run(
        [PYTHON, "-I", "-c", _COMPILE],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")},
        check=False,
    )
    if proc.returncode != 0:
        raise DevstackError(f"images: byte-compiling failed: {proc.stderr.strip()[-2000:]}")


def _cached_dir(folder: Path, fill: Callable[[Path], None]) -> Path:
    """`folder`, filled once by `fill(tmp)` and renamed into place (a crash leaves no half);
    each use touches its `.done`, which tells a used folder from a stale one."""
    if (folder / ".done").exists():
        (folder / ".done").touch()
        return folder
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fill(tmp)
    (tmp / ".done").write_text("")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def add_stdlib_pycs(rootfs: RootFs, work: Path, sources: list[str]) -> None:
    """Byte code of the standard library's `sources` (compiled once per Python version)."""

    def fill(tmp: Path) -> None:
        _compile([(src, str(tmp) + _pyc(src), src) for src in sources])

    folder = _cached_dir(work / f"stdlib-{_stdlib_key()}", fill)
    for src in sources:
        pyc = Path(str(folder) + _pyc(src))
        if pyc.exists():  # files of invalid syntax have none
            rootfs.add_file(_pyc(src), pyc, 0o644)


def _compile_tree(site: Path) -> None:
    jobs = []
    for path in sorted(site.rglob("*.py")):
        image_path = f"{SITE}/{path.relative_to(site).as_posix()}"
        jobs.append((str(path), _pyc(str(path)), image_path))
    _compile(jobs)


def install(work: Path, wheels: Path, pins: tuple[str, ...]) -> Path:
    """The pinned wheels installed by pip into a folder (no scripts, no cache), compiled."""
    key = hashlib.sha256(f"{CODE}\n{CACHE_TAG}\n".encode() + "\n".join(pins).encode())

    def fill(tmp: Path) -> None:
        site = tmp / "site"
        _pip(["install", "--no-index", "--find-links", str(wheels), "--no-deps",
              "--no-compile", "--no-warn-script-location", "--target", str(site)],
             pins)  # fmt: skip
        for unused in UNUSED:
            shutil.rmtree(site / unused, ignore_errors=True)
        _compile_tree(site)

    return _cached_dir(work / f"packages-{key.hexdigest()[:20]}", fill) / "site"


def rollway_tree(work: Path, src: Path) -> Path:
    """The rollway package as installed: its sources, a dist-info, byte code."""

    def fill(tmp: Path) -> None:
        site = tmp / "site"
        for path in sources(src):
            target = site / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        info = site / f"rollway-{rollway.__version__}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: rollway\nVersion: {rollway.__version__}\n"
        )
        (info / "top_level.txt").write_text("rollway\n")
        _compile_tree(site)

    return _cached_dir(work / f"rollway-{sources_key(src)[:20]}", fill) / "site"
