"""maven-metadata.xml at both levels and the versions LATEST, RELEASE and -SNAPSHOT resolve to."""

from __future__ import annotations

import pytest

from rollway.maven import ArtifactMetadata, SnapshotMetadata, pick_version
from rollway.maven.metadata import MalformedMetadata

ARTIFACT = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>com.example</groupId>
  <artifactId>hello</artifactId>
  <versioning>
    <latest>1.1.0</latest>
    <release>1.1.0</release>
    <versions>
      <version>1.0.0</version>
      <version>1.1.0</version>
    </versions>
    <lastUpdated>20260112090000</lastUpdated>
  </versioning>
</metadata>
"""
# What plain `mvn deploy` writes: no <latest>; here no <release> either, and a namespace.
BARE = b"""<metadata xmlns="http://maven.apache.org/METADATA/1.1.0">
  <versioning>
    <versions><version>2.0.0</version><version>2.1.0-SNAPSHOT</version></versions>
    <lastUpdated>20260301000000</lastUpdated>
  </versioning>
</metadata>
"""


def snapshot(entries: str, extra: str = "") -> bytes:
    return f"""<metadata modelVersion="1.1.0">
  <groupId>com.example</groupId><artifactId>hello</artifactId><version>1.2.0-SNAPSHOT</version>
  <versioning>
    <lastUpdated>20260114103000</lastUpdated>
    {extra}
    <snapshotVersions>{entries}</snapshotVersions>
  </versioning>
</metadata>""".encode()


def entry(value: str, extension: str = "jar", classifier: str = "", updated: str = "") -> str:
    c = f"<classifier>{classifier}</classifier>" if classifier else ""
    return (
        f"<snapshotVersion>{c}<extension>{extension}</extension><value>{value}</value>"
        f"<updated>{updated}</updated></snapshotVersion>"
    )


def test_artifact_metadata_is_read() -> None:
    doc = ArtifactMetadata.parse(ARTIFACT)
    assert doc.versions == ("1.0.0", "1.1.0")
    assert (doc.latest, doc.release, doc.last_updated) == ("1.1.0", "1.1.0", "20260112090000")
    assert doc.pick("LATEST") == "1.1.0"
    assert doc.pick("RELEASE") == "1.1.0"


def test_without_pointers_the_newest_deployed_version_is_picked() -> None:
    doc = ArtifactMetadata.parse(BARE)
    assert doc.pick("LATEST") == "2.1.0-SNAPSHOT"
    assert doc.pick("RELEASE") == "2.0.0"  # snapshots are never a release


def test_an_empty_document_picks_nothing() -> None:
    doc = ArtifactMetadata.parse(b"<metadata/>")
    assert doc.versions == ()
    assert doc.pick("LATEST") == doc.pick("RELEASE") == ""


def test_across_repositories_the_most_recently_updated_answer_wins() -> None:
    releases = ArtifactMetadata(("1.0.0", "1.1.0"), "1.1.0", "1.1.0", "20260112090000")
    snapshots = ArtifactMetadata(("1.2.0-SNAPSHOT",), "1.2.0-SNAPSHOT", "", "20260114103000")
    assert pick_version([releases, snapshots], "LATEST") == "1.2.0-SNAPSHOT"
    assert pick_version([releases, snapshots], "RELEASE") == "1.1.0"  # snapshots have none
    assert pick_version([], "RELEASE") == ""


@pytest.mark.parametrize("document", [b"not xml", b"<project/>", b"<metadata><versioning>"])
def test_malformed_documents_are_refused(document: bytes) -> None:
    with pytest.raises(MalformedMetadata):
        ArtifactMetadata.parse(document)


def test_snapshot_build_matches_extension_and_classifier() -> None:
    doc = SnapshotMetadata.parse(
        snapshot(
            entry("1.2.0-20260114.103000-2", "jar")
            + entry("1.2.0-20260114.103000-2", "pom")
            + entry("1.2.0-20260113.090000-1", "jar", "sources")
        )
    )
    assert doc.version == "1.2.0-SNAPSHOT"
    assert doc.file_version("1.2.0-SNAPSHOT", "", "jar") == "1.2.0-20260114.103000-2"
    assert doc.file_version("1.2.0-SNAPSHOT", "sources", "jar") == "1.2.0-20260113.090000-1"
    assert doc.file_version("1.2.0-SNAPSHOT", "javadoc", "jar") == ""
    assert doc.file_version("1.2.0-SNAPSHOT", "", "war") == ""
    assert doc.files() == ["jar", "pom", "sources@jar"]


def test_the_newest_of_several_builds_is_chosen() -> None:
    doc = SnapshotMetadata.parse(
        snapshot(
            entry("1.2.0-20260113.100000-1", updated="20260113100000")
            + entry("1.2.0-20260114.103000-2", updated="20260114103000")
            + entry("1.2.0-20260112.100000-0", updated="20260112100000")
        )
    )
    assert doc.file_version("1.2.0-SNAPSHOT", "", "jar") == "1.2.0-20260114.103000-2"


def test_legacy_metadata_uses_the_snapshot_timestamp_and_build_number() -> None:
    legacy = snapshot(
        "",
        "<snapshot><timestamp>20260114.103000</timestamp><buildNumber>7</buildNumber></snapshot>",
    )
    doc = SnapshotMetadata.parse(legacy)
    assert doc.file_version("1.2.0-SNAPSHOT", "", "jar") == "1.2.0-20260114.103000-7"


def test_a_local_copy_snapshot_keeps_its_plain_name() -> None:
    doc = SnapshotMetadata.parse(snapshot("", "<snapshot><localCopy>true</localCopy></snapshot>"))
    assert doc.file_version("1.2.0-SNAPSHOT", "", "jar") == "1.2.0-SNAPSHOT"
    assert SnapshotMetadata.parse(snapshot("")).file_version("1.2.0-SNAPSHOT", "", "jar") == ""
