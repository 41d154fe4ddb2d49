"""Fill a maven2 repository directory exactly as `mvn deploy` (Maven 3.9) fills a hosted one.

Each deploy lays down the jar and its POM, `.md5/.sha1/.sha256/.sha512` beside every file
(hex digest only, no newline), and rewrites the artifact-level `maven-metadata.xml`; a SNAPSHOT
deploy gets the next timestamped build number and version-level metadata (model 1.1.0).
The artifact-level metadata also carries `<latest>`, as Nexus' rebuilt metadata does; plain
`mvn deploy` of a jar leaves it out, so Rollway must not rely on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import shutil
from pathlib import Path

CHECKSUMS = ("md5", "sha1", "sha256", "sha512")
XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclasses.dataclass
class _History:
    """What a repository remembers about one groupId:artifactId between deploys."""

    versions: list[str] = dataclasses.field(default_factory=list)
    release: str | None = None
    builds: dict[str, int] = dataclasses.field(default_factory=dict)


class HostedRepository:
    """One hosted repository directory (like Nexus' maven-releases) receiving deploys in order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._history: dict[tuple[str, str], _History] = {}

    def file_version(self, group: str, artifact: str, version: str, when: dt.datetime) -> str:
        """The version in the file names of the next deploy: timestamped for a SNAPSHOT."""
        if not version.endswith("-SNAPSHOT"):
            return version
        build = self._history.get((group, artifact), _History()).builds.get(version, 0) + 1
        return version.removesuffix("SNAPSHOT") + f"{when:%Y%m%d.%H%M%S}-{build}"

    def deploy(
        self, group: str, artifact: str, version: str, jar: Path, pom: str, when: dt.datetime
    ) -> None:
        """Move `jar` into place with `pom`, checksums and updated metadata."""
        folder = self.root.joinpath(*group.split("."), artifact, version)
        folder.mkdir(parents=True, exist_ok=True)
        file_version = self.file_version(group, artifact, version, when)
        history = self._history.setdefault((group, artifact), _History())
        if file_version != version:
            build = history.builds[version] = history.builds.get(version, 0) + 1
            self._write(
                folder / "maven-metadata.xml",
                _snapshot_metadata(group, artifact, version, file_version, build, when),
            )
        else:
            history.release = version
        shutil.move(jar, folder / f"{artifact}-{file_version}.jar")
        _with_checksums(folder / f"{artifact}-{file_version}.jar")
        self._write(folder / f"{artifact}-{file_version}.pom", pom)
        if version not in history.versions:
            history.versions.append(version)
        self._write(
            folder.parent / "maven-metadata.xml",
            _artifact_metadata(group, artifact, version, history, when),
        )

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        _with_checksums(path)


def _with_checksums(path: Path) -> None:
    digests = {name: hashlib.new(name) for name in CHECKSUMS}
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            for digest in digests.values():
                digest.update(chunk)
    for name, digest in digests.items():
        path.with_name(f"{path.name}.{name}").write_text(digest.hexdigest(), encoding="ascii")


def _stamp(when: dt.datetime) -> str:
    return f"{when:%Y%m%d%H%M%S}"


def _artifact_metadata(
    group: str, artifact: str, latest: str, history: _History, when: dt.datetime
) -> str:
    release = f"    <release>{history.release}</release>\n" if history.release else ""
    versions = "".join(f"      <version>{v}</version>\n" for v in history.versions)
    return (
        f"{XML_HEADER}<metadata>\n"
        f"  <groupId>{group}</groupId>\n"
        f"  <artifactId>{artifact}</artifactId>\n"
        "  <versioning>\n"
        f"    <latest>{latest}</latest>\n"
        f"{release}"
        f"    <versions>\n{versions}    </versions>\n"
        f"    <lastUpdated>{_stamp(when)}</lastUpdated>\n"
        "  </versioning>\n"
        "</metadata>\n"
    )


def _snapshot_metadata(
    group: str, artifact: str, version: str, file_version: str, build: int, when: dt.datetime
) -> str:
    entries = "".join(
        "      <snapshotVersion>\n"
        f"        <extension>{ext}</extension>\n"
        f"        <value>{file_version}</value>\n"
        f"        <updated>{_stamp(when)}</updated>\n"
        "      </snapshotVersion>\n"
        for ext in ("jar", "pom")
    )
    return (
        f'{XML_HEADER}<metadata modelVersion="1.1.0">\n'
        f"  <groupId>{group}</groupId>\n"
        f"  <artifactId>{artifact}</artifactId>\n"
        "  <versioning>\n"
        f"    <lastUpdated>{_stamp(when)}</lastUpdated>\n"
        "    <snapshot>\n"
        f"      <timestamp>{when:%Y%m%d.%H%M%S}</timestamp>\n"
        f"      <buildNumber>{build}</buildNumber>\n"
        "    </snapshot>\n"
        f"    <snapshotVersions>\n{entries}    </snapshotVersions>\n"
        "  </versioning>\n"
        f"  <version>{version}</version>\n"
        "</metadata>\n"
    )
