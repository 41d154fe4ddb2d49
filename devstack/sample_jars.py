"""Build the sample app's jars with the JDK's `javac` and `jar`, reproducibly, and publish them.

Three packagings of `com.example.hello.Main` (devstack/sample-app): a plain jar, a ~60 MB fat jar
whose bulk is identical between versions, and a Spring Boot layered jar built around the real
`spring-boot-loader` from Maven Central, in which only the application layer changes. One plain
release, `hello` 1.0.1, is built with the fault switch on (see FAULTS): the bad release the
canary judge must stop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path

from .core import REPO, DevstackError, run, which
from .maven_layout import HostedRepository

SOURCES = REPO / "devstack" / "sample-app" / "src" / "main"
CENTRAL = "https://repo1.maven.org/maven2"
GROUP = "com.example"
MAIN_CLASS = "com.example.hello.Main"
FAT_DATA_FILES = 30
FAT_DATA_FILE_BYTES = 2 << 20  # 30 x 2 MiB of incompressible data, the same in every version


@dataclasses.dataclass(frozen=True)
class CentralJar:
    """A jar on Maven Central, pinned by its SHA-256."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def path(self) -> str:
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


BOOT_VERSION = "3.3.5"
BOOT = "org.springframework.boot"
BOOT_LOADER = CentralJar(
    BOOT,
    "spring-boot-loader",
    BOOT_VERSION,
    "de6d9fcf03e278d0ef3e88c2bd4d81000107610972b1e34d974394eaea9aedd6",
)
# Packed by spring-boot-maven-plugin into every layered jar: `java -Djarmode=tools -jar app.jar`.
BOOT_JARMODE_TOOLS = CentralJar(
    BOOT,
    "spring-boot-jarmode-tools",
    BOOT_VERSION,
    "5e61593ab8cab2d80b7cab1103c83dd78de1edacbf8fd2717920071a5b199035",
)
# spring-core (with spring-jcl) is what the jarmode tools need to run and extract the layers.
BOOT_DEPENDENCIES = (
    CentralJar(
        "org.slf4j",
        "slf4j-api",
        "2.0.16",
        "a12578dde1ba00bd9b816d388a0b879928d00bab3c83c240f7013bf4196c579a",
    ),
    CentralJar(
        "org.springframework",
        "spring-core",
        "6.1.14",
        "e15a1179fc9642ffed13ca55e2863e2da524ccd1083b7c6f1b5cfd5733f3b2c5",
    ),
    CentralJar(
        "org.springframework",
        "spring-jcl",
        "6.1.14",
        "9975c462bacee7a0c1aa79e55aa4faed02bd28dc78d1252404da87f5f7fb4cb1",
    ),
)

# What the devstack repository holds: (repository, artifactId, version, deploy time in UTC).
CATALOGUE: tuple[tuple[str, str, str, dt.datetime], ...] = tuple(
    (repo, artifact, version, dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC))
    for repo, artifact, version, when in (
        ("maven-releases", "hello", "1.0.0", "2026-01-05T09:00:00"),
        ("maven-releases", "hello-fat", "1.0.0", "2026-01-05T09:10:00"),
        ("maven-releases", "hello-boot", "1.0.0", "2026-01-05T09:20:00"),
        ("maven-releases", "hello-fat", "1.0.1", "2026-01-06T09:10:00"),
        ("maven-releases", "hello", "1.0.1", "2026-01-08T09:00:00"),
        ("maven-releases", "hello", "1.1.0", "2026-01-12T09:00:00"),
        ("maven-releases", "hello-boot", "1.1.0", "2026-01-12T09:20:00"),
        ("maven-snapshots", "hello", "1.2.0-SNAPSHOT", "2026-01-13T10:00:00"),
        ("maven-snapshots", "hello", "1.2.0-SNAPSHOT", "2026-01-14T10:30:00"),
    )
)


@dataclasses.dataclass(frozen=True)
class Fault:
    """The build-time switch of Fault.java: the share of requests answered 500, added latency."""

    error_percent: int = 0
    latency_ms: int = 0

    @property
    def tag(self) -> str:
        return "" if self == GOOD else f"+fault-{self.error_percent}-{self.latency_ms}"


GOOD = Fault()
#: Releases built bad on purpose, from the same sources (deployed before 1.1.0, so RELEASE stays
#: 1.1.0): a canary of 1.0.1 answers 500 to a fifth of its requests and is 40 ms slower.
FAULTS = {("hello", "1.0.1"): Fault(error_percent=20, latency_ms=40)}


def fetch(jar: CentralJar, cache: Path) -> Path:
    """Download a jar from Maven Central once, verifying its pinned digest."""
    dest = cache / jar.path
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    url = f"{CENTRAL}/{jar.path}"
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, tmp.open("wb") as out:
            shutil.copyfileobj(resp, out)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        if digest != jar.sha256:
            raise DevstackError(f"{url}: sha256 {digest} does not match the pinned {jar.sha256}")
        tmp.replace(dest)
    except OSError as err:
        raise DevstackError(f"cannot download {url}: {err}") from err
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def pom_xml(artifact: str, version: str, dependencies: tuple[CentralJar, ...] = ()) -> str:
    """The project POM, deployed beside the jar and embedded in it as maven-jar-plugin does."""
    deps = "".join(
        "    <dependency>\n"
        f"      <groupId>{d.group}</groupId>\n"
        f"      <artifactId>{d.artifact}</artifactId>\n"
        f"      <version>{d.version}</version>\n"
        "    </dependency>\n"
        for d in dependencies
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://maven.apache.org/POM/4.0.0'
        ' https://maven.apache.org/xsd/maven-4.0.0.xsd">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <groupId>{GROUP}</groupId>\n"
        f"  <artifactId>{artifact}</artifactId>\n"
        f"  <version>{version}</version>\n"
        "  <packaging>jar</packaging>\n"
        "  <properties>\n"
        "    <maven.compiler.release>17</maven.compiler.release>\n"
        "  </properties>\n"
        + (f"  <dependencies>\n{deps}  </dependencies>\n" if deps else "")
        + "</project>\n"
    )


class JarBuilder:
    """Compiles and packages in a scratch directory; set-up command output goes to `log`."""

    def __init__(self, scratch: Path, downloads: Path, log: Path) -> None:
        self.scratch = scratch
        self.downloads = downloads
        self.log = log
        self.javac = _jdk_tool("javac")
        self.jar_tool = _jdk_tool("jar")

    def plain(
        self, artifact: str, version: str, baked: str, pom: str, when: dt.datetime, fault: Fault
    ) -> Path:
        """A jar runnable with `java -jar`, like `mvn package` makes."""
        stage = self._stage(artifact, version, baked, pom)
        shutil.copytree(self._classes(baked, fault), stage, dirs_exist_ok=True)
        return self._jar(stage, when, {"Main-Class": MAIN_CLASS})

    def fat(
        self, artifact: str, version: str, baked: str, pom: str, when: dt.datetime, fault: Fault
    ) -> Path:
        """The plain jar plus ~60 MB of incompressible data under lib-data/, stored uncompressed."""
        stage = self._stage(artifact, version, baked, pom)
        shutil.copytree(self._classes(baked, fault), stage, dirs_exist_ok=True)
        shutil.copytree(self._fat_data(), stage / "lib-data", copy_function=os.link)
        return self._jar(stage, when, {"Main-Class": MAIN_CLASS}, "--no-compress")

    def boot(
        self, artifact: str, version: str, baked: str, pom: str, when: dt.datetime, fault: Fault
    ) -> Path:
        """A Spring Boot 3.3 layered jar, laid out as spring-boot-maven-plugin's repackage does."""
        stage = self._stage(artifact, version, baked, pom)
        shutil.copytree(self._classes(baked, fault), stage / "BOOT-INF" / "classes")
        with zipfile.ZipFile(fetch(BOOT_LOADER, self.downloads)) as loader:
            wanted = [n for n in loader.namelist() if n.startswith(("org/", "META-INF/services/"))]
            loader.extractall(stage, wanted)
        libs = [*BOOT_DEPENDENCIES, BOOT_JARMODE_TOOLS]
        index = "".join(f'- "BOOT-INF/lib/{j.filename}"\n' for j in libs)
        (stage / "BOOT-INF" / "classpath.idx").write_text(index)
        (stage / "BOOT-INF" / "layers.idx").write_text(
            '- "dependencies":\n  - "BOOT-INF/lib/"\n'
            '- "spring-boot-loader":\n  - "org/"\n'
            '- "snapshot-dependencies":\n'
            '- "application":\n  - "BOOT-INF/classes/"\n  - "BOOT-INF/classpath.idx"\n'
            '  - "BOOT-INF/layers.idx"\n  - "META-INF/"\n'
        )
        manifest = {
            "Main-Class": "org.springframework.boot.loader.launch.JarLauncher",
            "Start-Class": MAIN_CLASS,
            "Spring-Boot-Version": BOOT_VERSION,
            "Spring-Boot-Classes": "BOOT-INF/classes/",
            "Spring-Boot-Lib": "BOOT-INF/lib/",
            "Spring-Boot-Classpath-Index": "BOOT-INF/classpath.idx",
            "Spring-Boot-Layers-Index": "BOOT-INF/layers.idx",
        }
        jar = self._jar(stage, when, manifest)
        # Nested jars must be stored, not deflated, for the loader to open them in place.
        outer = self.scratch / "lib" / artifact / baked
        (outer / "BOOT-INF" / "lib").mkdir(parents=True)
        for dep in libs:
            os.link(fetch(dep, self.downloads), outer / "BOOT-INF" / "lib" / dep.filename)
        update: list[str | Path] = ["--update", "--file", jar, "--no-compress", _date(when)]
        run([self.jar_tool, *update, "-C", outer, "BOOT-INF/lib"], log=self.log)
        return jar

    def _classes(self, baked: str, fault: Fault) -> Path:
        """The app compiled with `baked` as its version and `fault` switched in, on first use."""
        key = baked + fault.tag
        classes = self.scratch / "classes" / key
        if classes.exists():
            return classes
        values = {
            "${project.version}": baked,
            "${hello.fault.errorPercent}": str(fault.error_percent),
            "${hello.fault.latencyMs}": str(fault.latency_ms),
        }
        generated = self.scratch / "generated" / key
        generated.mkdir(parents=True)
        for template in sorted((SOURCES / "java-templates").rglob("*.java")):
            text = template.read_text()
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            (generated / template.name).write_text(text)
        sources = sorted((SOURCES / "java").rglob("*.java")) + sorted(generated.glob("*.java"))
        fast_start = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]
        options: list[str | Path] = ["--release", "17", "-encoding", "UTF-8", "-d", classes]
        run([self.javac, *fast_start, *options, *sources], log=self.log)
        return classes

    def _stage(self, artifact: str, version: str, baked: str, pom: str) -> Path:
        """A fresh directory holding META-INF/maven/…/pom.xml and pom.properties."""
        stage = self.scratch / "stage" / artifact / baked
        meta = stage / "META-INF" / "maven" / GROUP / artifact
        meta.mkdir(parents=True)
        (meta / "pom.xml").write_text(pom)
        (meta / "pom.properties").write_text(
            f"artifactId={artifact}\ngroupId={GROUP}\nversion={version}\n"
        )
        return stage

    def _jar(self, stage: Path, when: dt.datetime, manifest: dict[str, str], *flags: str) -> Path:
        mf = stage.with_name(f"{stage.name}.MF")
        lines = {"Manifest-Version": "1.0", "Created-By": "rollway devstack", **manifest}
        mf.write_text("".join(f"{k}: {v}\n" for k, v in lines.items()))
        jar = stage.with_name(f"{stage.name}.jar")
        create: list[str | Path] = [
            "--create",
            "--file",
            jar,
            "--manifest",
            mf,
            _date(when),
            *flags,
        ]
        run([self.jar_tool, *create, "-C", stage, "."], log=self.log)
        return jar

    def _fat_data(self) -> Path:
        """Deterministic pseudo-random bytes (SHAKE-256 streams), made once per build."""
        data = self.scratch / "fat-data"
        if not data.exists():
            data.mkdir()
            for i in range(FAT_DATA_FILES):
                stream = hashlib.shake_256(f"rollway hello-fat lib-data {i}".encode())
                (data / f"blob-{i:02d}.bin").write_bytes(stream.digest(FAT_DATA_FILE_BYTES))
        return data


def publish_samples(dest: Path, builder: JarBuilder) -> None:
    """Build every artifact in CATALOGUE and deploy it, in order, into dest/<repository>/."""
    repos = {name: HostedRepository(dest / name) for name in ("maven-releases", "maven-snapshots")}
    packagings = {"hello": builder.plain, "hello-fat": builder.fat, "hello-boot": builder.boot}
    for repo, artifact, version, when in CATALOGUE:
        pom = pom_xml(artifact, version, BOOT_DEPENDENCIES if artifact == "hello-boot" else ())
        # A snapshot build bakes in its unique timestamped version, so each build differs.
        baked = repos[repo].file_version(GROUP, artifact, version, when)
        fault = FAULTS.get((artifact, version), GOOD)
        jar = packagings[artifact](artifact, version, baked, pom, when, fault)
        repos[repo].deploy(GROUP, artifact, version, jar, pom, when)


def _date(when: dt.datetime) -> str:
    """Every entry gets this timestamp, so the same input makes the same jar bytes."""
    return f"--date={when:%Y-%m-%dT%H:%M:%SZ}"


def _jdk_tool(name: str) -> str:
    found = which(name)
    if not found:
        raise DevstackError(f"`{name}` (JDK 17+) is not on PATH; install openjdk-17-jdk-headless")
    return found
