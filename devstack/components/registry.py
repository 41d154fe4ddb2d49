"""The OCI registry standing in for Harbor, seeded with the Java base image the image builder uses.

CNCF distribution (Debian `docker-registry`) with htpasswd auth and deletes enabled. The base image
`library/eclipse-temurin:17-jre` is built from this machine's real OpenJDK 17 as a deterministic OCI
layout, cached by JDK version, and pushed as an image index (linux/amd64 + an arm64 fixture).
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from ..core import HOST, DevstackError, http_status, run, which
from ..stack import Component, Context

USERNAME = "robot$rollway"  # shaped like a Harbor robot account
ADDR = f"{HOST}:25000"
BASE_REPO = "library/eclipse-temurin"
BASE_TAG = "17-jre"  # an image index: linux/amd64 + linux/arm64
AMD64_TAG = "17-jre-amd64"  # the plain linux/amd64 manifest
JDK = Path("/usr/lib/jvm/java-17-openjdk-amd64")
JAVA_HOME = "/opt/java/openjdk"
JAVA_DIR = JAVA_HOME.lstrip("/")  # tar entries are relative
PATH = f"{JAVA_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = "1970-01-01T00:00:00Z"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DESCRIPTION = "org.opencontainers.image.description"
REF_NAME = "org.opencontainers.image.ref.name"

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


class Registry(Component):
    name = "registry"
    version = "2.8.2"
    port = 25000

    def install(self, ctx: Context) -> None:
        for tool, package in (
            ("docker-registry", "docker-registry"),
            ("skopeo", "skopeo"),
            ("htpasswd", "apache2-utils"),
            ("ldd", "libc-bin"),
        ):
            if not which(tool):
                raise DevstackError(f"registry: `{tool}` not found; install the {package} package")

    def prepare(self, ctx: Context) -> None:
        htpasswd = ctx.paths.state("registry", "htpasswd")
        htpasswd.write_text(_bcrypt_line(ctx.secret("registry-password")))
        htpasswd.chmod(0o600)
        data = ctx.paths.state("registry", "data")
        data.mkdir(exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(data)}, "delete": {"enabled": True}},
            "http": {"addr": ADDR},
            "auth": {"htpasswd": {"realm": "rollway-registry", "path": str(htpasswd)}},
        }
        # JSON is YAML: no YAML library is needed to write the config.
        ctx.paths.state("registry", "config.yml").write_text(json.dumps(config, indent=2) + "\n")

    def command(self, ctx: Context) -> list[str]:
        return ["docker-registry", "serve", str(ctx.paths.state("registry", "config.yml"))]

    def ready(self, ctx: Context) -> bool:
        return http_status(f"{self.endpoint(ctx)}/v2/") == 401

    def after_start(self, ctx: Context) -> None:
        layout = base_image_dir(ctx)
        build_base_image(layout)
        refs = _layout_refs(layout)
        for tag, extra in ((BASE_TAG, ["--all"]), (AMD64_TAG, [])):
            if self._manifest_digest(ctx, tag) != refs[tag]["digest"]:
                self._push(ctx, layout, tag, extra)

    def exports(self, ctx: Context) -> dict[str, str]:
        return {
            "ROLLWAY_REGISTRY": ADDR,
            "ROLLWAY_REGISTRY_URL": self.endpoint(ctx),
            "ROLLWAY_REGISTRY_USERNAME": USERNAME,
            "ROLLWAY_REGISTRY_PASSWORD": ctx.secret("registry-password"),
            "ROLLWAY_BASE_IMAGE": f"{ADDR}/{BASE_REPO}:{BASE_TAG}",
        }

    # -- seeding ------------------------------------------------------------------------------

    def _manifest_digest(self, ctx: Context, tag: str) -> str | None:
        """Digest the registry holds for the base image tag (a HEAD, so cheap), None if absent."""
        req = urllib.request.Request(
            f"{self.endpoint(ctx)}/v2/{BASE_REPO}/manifests/{tag}",
            method="HEAD",
            headers={
                "Authorization": f"Basic {_basic(ctx)}",
                "Accept": f"{OCI_INDEX}, {OCI_MANIFEST}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                digest: str | None = resp.headers.get("Docker-Content-Digest")
                return digest
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            hint = (
                " (password changed since the registry started? restart it)"
                if err.code == 401
                else ""
            )
            raise DevstackError(f"registry: HEAD {req.full_url} answered {err.code}{hint}") from err

    def _push(self, ctx: Context, layout: Path, tag: str, extra: list[str]) -> None:
        """skopeo copy from the OCI layout; credentials go in a private auth file, not on argv."""
        fd, authfile = tempfile.mkstemp(prefix="auth-", suffix=".json", dir=ctx.paths.work)
        try:
            with os.fdopen(fd, "w") as fh:  # mkstemp creates it 0600
                json.dump({"auths": {ADDR: {"auth": _basic(ctx)}}}, fh)
            run(
                [
                    "skopeo",
                    "copy",
                    *extra,
                    "--preserve-digests",
                    "--dest-authfile",
                    authfile,
                    "--dest-tls-verify=false",
                    f"oci:{layout}:{tag}",
                    f"docker://{ADDR}/{BASE_REPO}:{tag}",
                ],
                log=ctx.paths.log(self.name),
            )
        finally:
            os.unlink(authfile)


def _basic(ctx: Context) -> str:
    return base64.b64encode(f"{USERNAME}:{ctx.secret('registry-password')}".encode()).decode()


def _bcrypt_line(password: str) -> str:
    """An htpasswd bcrypt entry; the password goes through stdin, never argv."""
    proc = subprocess.run(
        ["htpasswd", "-iBn", USERNAME], input=password.encode(), capture_output=True, check=False
    )
    line = proc.stdout.decode().strip()
    if proc.returncode != 0 or not line.startswith(f"{USERNAME}:"):
        raise DevstackError(f"registry: htpasswd failed: {proc.stderr.decode().strip()}")
    return line + "\n"


# -- the base image ---------------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True)
class Entry:
    """One file or directory of a layer; `source` is read through symlinks, so none are stored."""

    path: str
    mode: int = 0o755
    source: Path | None = None
    data: bytes | None = None
    owner: int = 0

    @property
    def is_dir(self) -> bool:
        return self.source is None and self.data is None


class _Digesting:
    """A write-through file wrapper counting bytes and their sha256 (tarfile needs `tell`)."""

    def __init__(self, sink: BinaryIO | gzip.GzipFile) -> None:
        self.sink, self.size, self.sha = sink, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.sink.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.sink.flush()


def write_layer(blobs: Path, entries: list[Entry]) -> tuple[dict[str, object], str]:
    """Write a reproducible tar+gzip layer (sorted, mtime 0, root-owned) into `blobs`.

    Returns its descriptor and its diff_id (sha256 of the uncompressed tar).
    """
    wanted = {e.path: e for e in entries}
    for path in list(wanted):  # every parent directory gets an entry of its own
        parts = path.split("/")
        for i in range(1, len(parts)):
            wanted.setdefault("/".join(parts[:i]), Entry("/".join(parts[:i])))
    tmp = blobs / ".layer.partial"
    with tmp.open("wb") as out:
        packed = _Digesting(out)
        with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=6) as gz:
            plain = _Digesting(gz)
            # mode "w" only writes and tells, so the wrapper needs no read/seek.
            with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for path in sorted(wanted):
                    _add(tar, wanted[path])
    digest = packed.sha.hexdigest()
    tmp.rename(blobs / digest)
    return _descriptor(OCI_LAYER, digest, packed.size), f"sha256:{plain.sha.hexdigest()}"


def _add(tar: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.path + ("/" if entry.is_dir else ""))
    info.mtime, info.mode = 0, entry.mode
    info.uid = info.gid = entry.owner
    info.uname = info.gname = "root" if entry.owner == 0 else ""
    if entry.is_dir:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif entry.data is not None:
        info.size = len(entry.data)
        tar.addfile(info, io.BytesIO(entry.data))
    else:
        assert entry.source is not None
        with entry.source.open("rb") as fh:  # follows symlinks into /etc/java-17-openjdk etc.
            info.size = os.fstat(fh.fileno()).st_size
            tar.addfile(info, fh)


def _descriptor(media_type: str, digest_hex: str, size: int) -> dict[str, object]:
    return {"mediaType": media_type, "digest": f"sha256:{digest_hex}", "size": size}


def _write_json(blobs: Path, media_type: str, doc: object) -> dict[str, object]:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (blobs / digest).write_bytes(raw)
    return _descriptor(media_type, digest, len(raw))


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
    index = _write_json(
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
    config = _write_json(
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
    manifest = _write_json(
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


def _layout_refs(layout: Path) -> dict[str, dict[str, object]]:
    index = json.loads((layout / "index.json").read_text())
    return {m["annotations"][REF_NAME]: m for m in index["manifests"]}
