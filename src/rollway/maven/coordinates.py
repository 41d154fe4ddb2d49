"""Maven coordinates `group:artifact[:version][:classifier][@extension]` and their maven2 paths."""

from __future__ import annotations

import dataclasses
import re

from ..errors import InvalidInput
from ..validation import MAVEN_ID, no_template

FORM = "group:artifact[:version][:classifier][@extension]"
LATEST = "LATEST"
RELEASE = "RELEASE"
SNAPSHOT = "SNAPSHOT"
#: A unique snapshot build as deployed: `1.2.0-20261122.101010-2`.
TIMESTAMPED = re.compile(r"^(?P<base>.+)-(?P<timestamp>\d{8}\.\d{6})-(?P<build>\d+)$")
_PARTS = ("groupId", "artifactId", "version", "classifier")


@dataclasses.dataclass(frozen=True)
class Coordinates:
    """What a user names; `version` may still be LATEST, RELEASE or a `-SNAPSHOT`."""

    group: str
    artifact: str
    version: str = RELEASE
    classifier: str = ""
    extension: str = "jar"

    @classmethod
    def parse(cls, text: str, field: str = "coordinates") -> Coordinates:
        """Parse and validate, naming the part at fault and the expected form."""
        no_template(field, text)
        body, at, extension = text.strip().partition("@")
        if at and not extension:
            raise InvalidInput(f"extension after '@' is empty; expected {FORM}", field=field)
        parts = body.split(":")
        if len(parts) < 2 or len(parts) > 4:
            raise InvalidInput(
                f"{text!r} has {len(parts)} ':'-separated part(s); expected {FORM}", field=field
            )
        named = [*zip(_PARTS, parts, strict=False)]
        if at:
            named.append(("extension", extension))
        for part, value in named:
            if not value:
                raise InvalidInput(f"{part} is empty; expected {FORM}", field=field)
            if not MAVEN_ID.match(value):
                raise InvalidInput(
                    f"{part} {value!r} may hold only letters, digits, '.', '_' and '-'; "
                    f"expected {FORM}",
                    field=field,
                )
        values = dict(named)
        return cls(
            group=values["groupId"],
            artifact=values["artifactId"],
            version=values.get("version", RELEASE),
            classifier=values.get("classifier", ""),
            extension=values.get("extension", "jar"),
        )

    def __str__(self) -> str:
        classifier = f":{self.classifier}" if self.classifier else ""
        extension = f"@{self.extension}" if self.extension != "jar" else ""
        return f"{self.group}:{self.artifact}:{self.version}{classifier}{extension}"

    def with_version(self, version: str) -> Coordinates:
        return dataclasses.replace(self, version=version)

    @property
    def is_meta_version(self) -> bool:
        """LATEST or RELEASE: only the artifact's maven-metadata.xml can say which version."""
        return self.version in (LATEST, RELEASE)

    @property
    def is_snapshot(self) -> bool:
        """A moving snapshot (`1.2.0-SNAPSHOT`), resolved through version-level metadata."""
        return self.version.endswith(SNAPSHOT)

    @property
    def base_version(self) -> str:
        """The directory a version lives in: `1.2.0-SNAPSHOT` for its timestamped builds too."""
        match = TIMESTAMPED.match(self.version)
        return f"{match['base']}-{SNAPSHOT}" if match else self.version

    @property
    def artifact_path(self) -> str:
        """`com/example/hello`: where the artifact-level maven-metadata.xml lives."""
        return f"{self.group.replace('.', '/')}/{self.artifact}"

    def file_path(self, file_version: str | None = None) -> str:
        """Path of the file under a repository, for this version or a snapshot build of it."""
        name_version = file_version or self.version
        classifier = f"-{self.classifier}" if self.classifier else ""
        name = f"{self.artifact}-{name_version}{classifier}.{self.extension}"
        return f"{self.artifact_path}/{self.base_version}/{name}"
