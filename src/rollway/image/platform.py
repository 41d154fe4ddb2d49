"""Platforms (`os/architecture[/variant]`) and picking one image out of an index."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInput, NotFound

#: Variants a platform has when an index entry leaves them out (as containerd assumes).
DEFAULT_VARIANTS = {"arm64": "v8"}


@dataclasses.dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str, *, field: str = "platform") -> Platform:
        parts = text.split("/")
        if not 2 <= len(parts) <= 3 or not all(parts):
            raise InvalidInput(
                f"{text!r} is not os/architecture[/variant], e.g. linux/amd64", field=field
            )
        return cls(*parts)

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Platform:
        """The platform an index entry's `platform` or an image config declares."""
        return cls(str(doc.get("os", "")), str(doc.get("architecture", "")), doc.get("variant"))

    def matches(self, other: Platform) -> bool:
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        if self.variant is None:  # linux/arm64 takes the index's arm64 image, whatever variant
            return True
        return self.variant == (other.variant or DEFAULT_VARIANTS.get(other.architecture))

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def select(
    manifests: Sequence[Mapping[str, Any]], wanted: Platform, image: str
) -> Mapping[str, Any]:
    """The index entry for `wanted`; a missing platform names those the image has."""
    for entry in manifests:
        if "platform" in entry and wanted.matches(Platform.of(entry["platform"])):
            return entry
    offered = ", ".join(str(Platform.of(m["platform"])) for m in manifests if "platform" in m)
    raise NotFound(
        f"{image} has no {wanted} image (it has: {offered or 'no platforms'})", field="platform"
    )
