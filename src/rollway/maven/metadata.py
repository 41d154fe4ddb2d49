"""maven-metadata.xml, both levels, and the version choices Maven makes from them.

Artifact level (`group/artifact/maven-metadata.xml`) lists versions and says which is LATEST and
RELEASE; version level (`…/1.2.0-SNAPSHOT/maven-metadata.xml`) names each snapshot build's files.
`mvn deploy` of a jar writes no `<latest>`, so LATEST falls back to the newest deployed version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from xml.etree import ElementTree

from .coordinates import LATEST, SNAPSHOT


class MalformedMetadata(ValueError):
    """The document is not maven-metadata.xml."""


def _strip_namespaces(root: ElementTree.Element) -> ElementTree.Element:
    """Nexus may write `xmlns="http://maven.apache.org/METADATA/1.1.0"`; match on local names."""
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = element.tag.rpartition("}")[2]
    return root


def _parse(document: bytes) -> ElementTree.Element:
    try:
        root = _strip_namespaces(ElementTree.fromstring(document))
    except ElementTree.ParseError as err:
        raise MalformedMetadata(f"not well-formed XML ({err})") from None
    if root.tag != "metadata":
        raise MalformedMetadata(f"root element is <{root.tag}>, not <metadata>")
    return root


def _text(element: ElementTree.Element | None, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


@dataclasses.dataclass(frozen=True)
class ArtifactMetadata:
    """The artifact-level document: versions in deploy order, LATEST/RELEASE pointers."""

    versions: tuple[str, ...]
    latest: str = ""
    release: str = ""
    last_updated: str = ""  # yyyyMMddHHmmss, so it sorts as text

    @classmethod
    def parse(cls, document: bytes) -> ArtifactMetadata:
        versioning = _parse(document).find("versioning")
        return cls(
            versions=tuple(
                v.text.strip()
                for v in (versioning.findall("versions/version") if versioning is not None else [])
                if v.text and v.text.strip()
            ),
            latest=_text(versioning, "latest"),
            release=_text(versioning, "release"),
            last_updated=_text(versioning, "lastUpdated"),
        )

    def pick(self, which: str) -> str:
        """The version LATEST or RELEASE names here, '' if none (as Maven reads the pointers)."""
        if which == LATEST:
            return self.latest or (self.versions[-1] if self.versions else "")
        releases = [v for v in self.versions if not v.endswith(SNAPSHOT)]
        return self.release or (releases[-1] if releases else "")


def pick_version(documents: Iterable[ArtifactMetadata], which: str) -> str:
    """LATEST/RELEASE across repositories: the answer of the most recently updated document."""
    answers = [(doc.last_updated, doc.pick(which)) for doc in documents]
    answers = [answer for answer in answers if answer[1]]
    return max(answers)[1] if answers else ""


@dataclasses.dataclass(frozen=True)
class SnapshotBuild:
    """One `<snapshotVersion>`: the file version of one classifier/extension of a build."""

    extension: str
    value: str
    classifier: str = ""
    updated: str = ""


@dataclasses.dataclass(frozen=True)
class SnapshotMetadata:
    """The version-level document of a `-SNAPSHOT` version."""

    version: str
    builds: tuple[SnapshotBuild, ...]
    timestamp: str = ""
    build_number: str = ""
    local_copy: bool = False
    last_updated: str = ""

    @classmethod
    def parse(cls, document: bytes) -> SnapshotMetadata:
        root = _parse(document)
        versioning = root.find("versioning")
        builds = tuple(
            SnapshotBuild(
                extension=_text(entry, "extension"),
                value=_text(entry, "value"),
                classifier=_text(entry, "classifier"),
                updated=_text(entry, "updated"),
            )
            for entry in (
                versioning.findall("snapshotVersions/snapshotVersion")
                if versioning is not None
                else []
            )
        )
        return cls(
            version=_text(root, "version"),
            builds=builds,
            timestamp=_text(versioning, "snapshot/timestamp"),
            build_number=_text(versioning, "snapshot/buildNumber"),
            local_copy=_text(versioning, "snapshot/localCopy") == "true",
            last_updated=_text(versioning, "lastUpdated"),
        )

    def file_version(self, base_version: str, classifier: str, extension: str) -> str:
        """The newest build's file version for this classifier/extension, '' if there is none.

        Model 1.1.0 lists every file in `<snapshotVersions>`; older documents only carry the
        newest `<snapshot>` timestamp and build number, which then apply to every file.
        """
        matching = [
            b for b in self.builds if b.extension == extension and b.classifier == classifier
        ]
        if matching:
            return max(matching, key=lambda b: (b.updated, b.value)).value
        if self.builds:
            return ""
        if self.timestamp and self.build_number:
            return f"{base_version.removesuffix(SNAPSHOT)}{self.timestamp}-{self.build_number}"
        return base_version if self.local_copy else ""

    def files(self) -> list[str]:
        """What the builds hold, as `classifier@extension` labels for error messages."""
        return sorted({file_label(b.classifier, b.extension) for b in self.builds})


def file_label(classifier: str, extension: str) -> str:
    """`sources@jar`, or just `jar` without a classifier."""
    return f"{classifier}@{extension}" if classifier else extension
