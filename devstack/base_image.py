"""The Java base image the image builder builds on, made from this machine's real OpenJDK 17.

`library/eclipse-temurin:17-jre` as a deterministic OCI layout, cached by JDK version: an image
index of linux/amd64 (the JRE, the libraries `java` loads, /etc/passwd) and an arm64 fixture
that only lets builders be tested picking the right platform.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .core import DevstackError
from .oci_layout import (
    DESCRIPTION,
    EPOCH,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    REF_NAME,
    Entry,
    write_json,
    write_layer,
)
from .stack import Context

BASE_REPO = "library/eclipse-temurin"
BASE_TAG = "17-jre"  # an image index: linux/amd64 + linux/arm64
AMD64_TAG = "17-jre-amd64"  # the plain linux/amd64 manifest
JDK = Path("/usr/lib/jvm/java-17-openjdk-amd64")
JAVA_HOME = "/opt/java/openjdk"
JAVA_DIR = JAVA_HOME.lstrip("/")  # tar entries are relative
PATH = f"{JAVA_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Files under lib/ that a JRE does not need: javac's symbol table, and Debian's GTK
#: accessibility bridge (its GUI libraries are not in the image).
NOT_JRE = frozenset({"lib/ct.sym", "lib/libatk-wrapper.so"})
#: ELF files whose shared-library dependencies (glibc, libstdc++, zlib) must be in the image for
#: `java` to start: the launcher and what java.base loads.
ELF_ROOTS = (
    "bin/java",
    "lib/jspawnhelper",
    "lib/server/libjvm.so",
    "lib/libjava.so",
    "lib/libjimage.so",
    "lib/libnet.so",
    "lib/libnio.so",
    "lib/libzip.so",
)
PASSWD = (
    "root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1000:1000:app:/home/app:/usr/sbin/nologin\n"
)
GROUP = "root:x:0:\napp:x:1000:\n"
ARM64_NOTE = (
    "Platform-selection fixture: this linux/arm64 image holds only /etc/passwd, /etc/group "
    "and this README. It has no Java runtime and cannot run anything; it exists so that "
    "image builders can be tested picking the right platform out of the index. "
    "Use the linux/amd64 image.\n"
)


def jdk_version() -> str:
    try:
        release = (JDK / "release").read_text()
    except OSError as err:
        raise DevstackError(
            f"registry: no OpenJDK 17 at {JDK}; install openjdk-17-jre-headless"
        ) from err
    for line in release.splitlines():
        key, _, value = line.partition("=")
        if key == "JAVA_RUNTIME_VERSION":
            return value.strip('"')
    raise DevstackError(f"registry: no JAVA_RUNTIME_VERSION in {JDK / 'release'}")


def base_image_dir(ctx: Context) -> Path:
    return ctx.paths.cache / f"base-image-{jdk_version()}"


def _file_mode(path: Path) -> int:
    return 0o755 if os.stat(path).st_mode & 0o111 else 0o644


def jre_entries() -> list[Entry]:
    """bin/java, lib/ and conf/ of the Debian JDK, with links into /etc resolved to real files."""
    entries = [
        Entry(f"{JAVA_DIR}/{rel}", 0o755 if rel == "bin/java" else 0o644, JDK / rel)
        for rel in ("bin/java", "release")
    ]
    for top in ("lib", "conf"):
        for path in sorted((JDK / top).rglob("*")):
            rel = path.relative_to(JDK).as_posix()
            # rglob does not enter symlinked dirs; dangling links (lib/src.zip) are skipped.
            if rel in NOT_JRE or not path.is_file():
                continue
            entries.append(Entry(f"{JAVA_DIR}/{rel}", _file_mode(path), path))
    return entries


def system_library_entries() -> list[Entry]:
    """The shared libraries `java` needs (found with ldd), at the paths the loader looks in."""
    libs: set[str] = set()
    for rel in ELF_ROOTS:
        proc = subprocess.run(["ldd", str(JDK / rel)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DevstackError(f"registry: ldd {JDK / rel} failed: {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            words = line.split()
            path = words[2] if len(words) > 2 and words[1] == "=>" else words[0]
            if path.startswith("/") and not path.startswith(str(JDK)):
                libs.add(path)
    return [Entry(lib.lstrip("/"), _file_mode(Path(lib)), Path(lib)) for lib in sorted(libs)]


def build_base_image(target: Path) -> None:
    """Build the base image's OCI layout into `target` unless there (temp dir, then rename)."""
    if (target / "index.json").exists():
        return
    tmp = target.with_name(f".{target.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = tmp / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    version = jdk_version()
    accounts, accounts_id = write_layer(
        blobs,
        [
            Entry("etc/passwd", 0o644, data=PASSWD.encode()),
            Entry("etc/group", 0o644, data=GROUP.encode()),
            Entry("home/app", 0o755, owner=1000),
            Entry("tmp", 0o1777),
        ],
    )
    libraries, libraries_id = write_layer(blobs, system_library_entries())
    jre, jre_id = write_layer(blobs, jre_entries())
    readme, readme_id = write_layer(
        blobs, [Entry("README.platform-fixture.txt", 0o644, data=ARM64_NOTE.encode())]
    )

    amd64_about = f"OpenJDK {version} JRE (Debian build) at {JAVA_HOME}, built by rollway devstack"
    amd64 = _image(
        blobs,
        "amd64",
        [
            (accounts, accounts_id, "/etc/passwd, /etc/group, /tmp"),
            (libraries, libraries_id, "glibc, libstdc++, zlib"),
            (jre, jre_id, f"OpenJDK {version} JRE"),
        ],
        [f"PATH={PATH}", f"JAVA_HOME={JAVA_HOME}", f"JAVA_VERSION={version}", "LANG=C.UTF-8"],
        amd64_about,
    )
    arm64 = _image(
        blobs,
        "arm64",
        [
            (accounts, accounts_id, "/etc/passwd, /etc/group, /tmp"),
            (readme, readme_id, "README: platform-selection fixture"),
        ],
        ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ARM64_NOTE.strip(),
    )
    index = write_json(
        blobs,
        OCI_INDEX,
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [amd64, arm64],
            "annotations": {DESCRIPTION: "Java 17 runtime base image for rollway apps (devstack)"},
        },
    )
    layout_index = {
        "schemaVersion": 2,
        "manifests": [
            {**index, "annotations": {REF_NAME: BASE_TAG}},
            {**_plain(amd64), "annotations": {REF_NAME: AMD64_TAG}},
        ],
    }
    (tmp / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (tmp / "index.json").write_text(json.dumps(layout_index, sort_keys=True, indent=2))
    try:
        tmp.rename(target)
    except OSError:  # built meanwhile by a concurrent `up`
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "index.json").exists():
            raise


def _image(
    blobs: Path,
    arch: str,
    layers: list[tuple[dict[str, object], str, str]],
    env: list[str],
    about: str,
) -> dict[str, object]:
    """Write one platform's config and manifest; returns its descriptor for the index."""
    config = write_json(
        blobs,
        OCI_CONFIG,
        {
            "created": EPOCH,
            "architecture": arch,
            "os": "linux",
            "config": {"Env": env, "WorkingDir": "/", "Labels": {DESCRIPTION: about}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id, _ in layers]},
            "history": [
                {"created": EPOCH, "created_by": f"rollway devstack: {what}"}
                for _, _, what in layers
            ],
        },
    )
    manifest = write_json(
        blobs,
        OCI_MANIFEST,
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": [layer for layer, _, _ in layers],
            "annotations": {DESCRIPTION: about},
        },
    )
    return {
        **manifest,
        "platform": {"architecture": arch, "os": "linux"},
        "annotations": {DESCRIPTION: about},
    }


def _plain(descriptor: dict[str, object]) -> dict[str, object]:
    """An index entry without its platform: the layout's ref to the single-platform manifest."""
    return {k: v for k, v in descriptor.items() if k != "platform"}
