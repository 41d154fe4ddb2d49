"""Image references (`registry/repository[:tag][@digest]`), parsed as Docker and Harbor spell them."""

from __future__ import annotations

import dataclasses
import re

from ..errors import InvalidInput

DOCKER_HUB = "docker.io"
#: The host Docker Hub's API answers on; `docker.io` itself is only a name.
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]+)?$")
MAX_NAME = 255


@dataclasses.dataclass(frozen=True)
class Reference:
    """One image: the registry host, the repository in it, and a tag and/or a digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def ref(self) -> str:
        """What goes after `/manifests/`: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, field: str, default_registry: str = DOCKER_HUB) -> Reference:
    """Parse `[registry/]repository[:tag][@digest]`; a bad reference names `field`.

    The first path component is a registry when it looks like a host (has '.' or ':' or is
    `localhost`), as in Docker; otherwise the image lives in `default_registry`.
    """
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST.match(digest):
            raise InvalidInput(f"{text!r}: digest must be sha256:<64 hex digits>", field=field)
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not TAG.match(tag):
            raise InvalidInput(
                f"{text!r}: tag must be 1-128 letters, digits, '_', '.' or '-'", field=field
            )
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = default_registry, rest
    if not _HOST.match(registry):
        raise InvalidInput(f"{text!r}: {registry!r} is not a registry host", field=field)
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not REPOSITORY.match(repository) or len(repository) > MAX_NAME:
        raise InvalidInput(
            f"{text!r}: repository must be lowercase path components of letters and digits "
            "joined by '.', '_' or '-' (at most 255 characters)",
            field=field,
        )
    return Reference(registry, repository, tag, digest)
