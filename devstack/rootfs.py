"""A container's root file system made from this machine's real files, as layer entries.

The files a Debian package installed (`dpkg -L`), the shared libraries an ELF program loads
(`ldd`, which lists the whole closure), and symlinks kept as symlinks: on a merged-/usr system
`/lib/x86_64-linux-gnu/libc.so.6` becomes the link `lib -> usr/lib` plus the real file under
`usr/lib`, so the image has the same layout as the host and the loader finds what it expects.
Runs with the project's virtualenv (it makes `rollway.image` entries).
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path

from rollway.image.layer import DIR_MODE, Entry

from .core import DevstackError

#: Parts of a package nothing at run time reads: documentation, man pages, lintian overrides,
#: binfmt registrations.
NOT_RUNTIME = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/lintian/", "/usr/share/binfmts/",
               "/usr/lib/binfmt.d/")  # fmt: skip
_MAX_LINKS = 40


def package_files(*packages: str) -> list[str]:
    """Files and symlinks (not directories) the packages installed, minus NOT_RUNTIME."""
    paths: list[str] = []
    for package in packages:
        proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DevstackError(
                f"images: package {package} is not installed: {proc.stderr.strip()}"
            )
        for path in proc.stdout.splitlines():
            if path.startswith(NOT_RUNTIME) or not os.path.lexists(path):
                continue
            if os.path.islink(path) or not os.path.isdir(path):
                paths.append(path)
    return paths


def package_versions(*packages: str) -> str:
    """`name version` lines of the packages, for cache keys."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevstackError(f"images: dpkg-query failed: {proc.stderr.strip()}")
    return proc.stdout


def shared_libraries(programs: Iterable[str]) -> set[str]:
    """Every shared library (and the loader) the ELF `programs` need, as ldd resolves them."""
    libraries: set[str] = set()
    for program in programs:
        proc = subprocess.run(["ldd", program], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DevstackError(f"images: ldd {program} failed: {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            words = line.split()
            if "not found" in line:
                if (Path(program).parent / words[0]).is_file():
                    continue  # a wheel's bundled library beside it (auditwheel's `.libs`)
                raise DevstackError(f"images: {program} needs {words[0]}, which is not installed")
            path = words[2] if len(words) > 2 and words[1] == "=>" else words[0]
            if path.startswith("/"):
                libraries.add(path)
    return libraries


class RootFs:
    """Entries by their path in the image; host paths are added with their symlinks."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def add(self, host_path: str) -> None:
        """The host file at the same path in the image, every symlink on the way included."""
        self._add(os.path.normpath(host_path), 0)

    def add_file(self, path: str, source: Path, mode: int | None = None) -> None:
        """A host file's content at another path (`usr/local/bin/helm`)."""
        info = source.stat()
        self.entries[path.lstrip("/")] = Entry(
            path.lstrip("/"),
            _mode(info.st_mode) if mode is None else mode,
            info.st_size,
            open=lambda: source.open("rb"),
        )

    def add_data(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.entries[path.lstrip("/")] = Entry(
            path.lstrip("/"), mode, len(data), open=lambda: io.BytesIO(data)
        )

    def add_dir(self, path: str, mode: int = DIR_MODE) -> None:
        self.entries[path.lstrip("/")] = Entry(path.lstrip("/"), mode)

    def add_link(self, path: str, target: str) -> None:
        self.entries[path.lstrip("/")] = Entry(path.lstrip("/"), link=target)

    def _add(self, path: str, depth: int) -> None:
        if depth > _MAX_LINKS:
            raise DevstackError(f"images: too many symlinks resolving {path}")
        current = "/"
        parts = Path(path).parts[1:]
        for i, part in enumerate(parts):
            candidate = os.path.join(current, part)
            if os.path.islink(candidate):
                target = os.readlink(candidate)
                self.add_link(candidate, target)
                rest = os.path.join(os.path.join(current, target), *parts[i + 1 :])
                self._add(os.path.normpath(rest), depth + 1)
                return
            current = candidate
        info = os.stat(current)
        if stat.S_ISDIR(info.st_mode):
            self.add_dir(current)
        else:
            self.add_file(current, Path(current))


def _mode(st_mode: int) -> int:
    """755 for what anyone may run, else 644: the host's owner-only bits mean nothing here."""
    return 0o755 if st_mode & 0o111 else 0o644
