"""How a jar goes into an image: which layers, which files, and how the image starts it.

A plain (fat) jar is one layer holding `/app/app.jar`, started with `java -jar`. A Spring Boot
layered jar (one with `BOOT-INF/layers.idx`) is exploded under `/app` into one layer per index
layer, as `java -Djarmode=layertools -jar app.jar extract` would lay it out, and started with its
launcher class; an upgrade then changes only the layers whose files changed (usually just
`application`), so only those are pushed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import InvalidInput
from .layer import FILE_MODE, Entry
from .springboot import LAYERS_INDEX, LayersIndex

APP_DIR = "/app"
APP_JAR = f"{APP_DIR}/app.jar"
#: Spring Boot's layer of the app's own classes and resources: the one every release changes.
APPLICATION_LAYER = "application"


@dataclasses.dataclass(frozen=True)
class LayerPlan:
    """The entries of one layer, and the history line that says where they came from."""

    name: str
    entries: tuple[Entry, ...]
    created_by: str
    #: Whether each new version of the app changes it (a fat jar; Spring Boot's `application`),
    #: so a new tag's push can upload it while it is built instead of asking for it first.
    per_version: bool = False


@dataclasses.dataclass(frozen=True)
class JarLayout:
    layers: tuple[LayerPlan, ...]
    entrypoint: tuple[str, ...]
    working_dir: str = APP_DIR


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@contextlib.contextmanager
def jar_layout(jar: Path, jar_sha256: str) -> Iterator[JarLayout]:
    """The layout of `jar`; its entries can be read until the context exits."""
    try:
        archive = zipfile.ZipFile(jar)
    except (OSError, zipfile.BadZipFile) as err:
        raise InvalidInput(f"{jar} is not a readable jar: {err}", field="jar") from err
    with archive:
        if LAYERS_INDEX in archive.NameToInfo:
            yield _spring_boot(archive)
        else:
            yield _plain(jar, jar_sha256)


def _plain(jar: Path, jar_sha256: str) -> JarLayout:
    entry = Entry(
        APP_JAR.lstrip("/"),
        FILE_MODE,
        size=jar.stat().st_size,
        open=lambda: jar.open("rb"),
        sha256=jar_sha256,
    )
    return JarLayout(
        layers=(LayerPlan("jar", (entry,), f"COPY app.jar {APP_JAR}", per_version=True),),
        entrypoint=("java", "-jar", APP_JAR),
    )


def _spring_boot(archive: zipfile.ZipFile) -> JarLayout:
    index = LayersIndex.parse(archive.read(LAYERS_INDEX).decode())
    launcher = _main_class(archive)
    files: dict[str, list[Entry]] = {name: [] for name in index.names}
    for info in archive.infolist():
        if info.is_dir():  # directories come from the files' parents, as `extract` makes them
            continue
        name = _safe_name(info.filename)
        files[index.layer_of(name)].append(
            Entry(
                f"{APP_DIR.lstrip('/')}/{name}",
                FILE_MODE,
                size=info.file_size,
                open=_opener(archive, info),
            )
        )
    return JarLayout(
        layers=tuple(
            LayerPlan(
                name,
                tuple(files[name]),
                f"COPY {name}/ {APP_DIR}/",
                per_version=name == APPLICATION_LAYER,
            )
            for name in index.names
        ),
        entrypoint=("java", launcher),
    )


def _opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)


def _main_class(archive: zipfile.ZipFile) -> str:
    """The launcher (Main-Class) a layered jar's manifest names, e.g. `…loader.launch.JarLauncher`."""
    try:
        manifest = archive.read("META-INF/MANIFEST.MF").decode()
    except KeyError as err:
        raise InvalidInput("a Spring Boot jar must have META-INF/MANIFEST.MF", field="jar") from err
    # Manifest lines wrap at 72 bytes; a continuation starts with one space.
    for line in manifest.replace("\r\n", "\n").replace("\n ", "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Main-Class" and value.strip():
            return value.strip()
    raise InvalidInput("META-INF/MANIFEST.MF names no Main-Class (the launcher)", field="jar")


def _safe_name(name: str) -> str:
    """Reject names that would escape /app once exploded ("zip slip")."""
    path = PurePosixPath(name)
    if name.startswith("/") or "\\" in name or ".." in path.parts or not path.parts:
        raise InvalidInput(f"jar entry {name!r} is not a safe relative path", field="jar")
    return path.as_posix()
