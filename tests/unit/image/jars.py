"""Jars for the unit tests, made with zipfile the way `jar` and Spring Boot's plugin lay them out."""

from __future__ import annotations

import zipfile
from pathlib import Path

BOOT_INDEX = (
    '- "dependencies":\n  - "BOOT-INF/lib/"\n'
    '- "spring-boot-loader":\n  - "org/"\n'
    '- "snapshot-dependencies":\n'
    '- "application":\n  - "BOOT-INF/classes/"\n  - "BOOT-INF/classpath.idx"\n'
    '  - "BOOT-INF/layers.idx"\n  - "META-INF/"\n'
)
BOOT_MANIFEST = (
    "Manifest-Version: 1.0\n"
    "Main-Class: org.springframework.boot.loader.launch.JarLauncher\n"
    "Start-Class: com.example.hello.Main\n"
)


def make_jar(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as jar:
        for name, data in files.items():
            jar.writestr(name, data)
    return path


def boot_files(version: str) -> dict[str, bytes]:
    return {
        "META-INF/": b"",
        "META-INF/MANIFEST.MF": BOOT_MANIFEST.encode(),
        "BOOT-INF/layers.idx": BOOT_INDEX.encode(),
        "BOOT-INF/classpath.idx": b'- "BOOT-INF/lib/dep.jar"\n',
        "BOOT-INF/classes/com/example/hello/Main.class": f"main {version}".encode(),
        "BOOT-INF/lib/dep.jar": b"dependency bytes" * 100,
        "org/springframework/boot/loader/launch/JarLauncher.class": b"launcher",
    }
