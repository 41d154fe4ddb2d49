"""Media types of the two manifest formats a registry serves: OCI and Docker v2 schema 2."""

from __future__ import annotations

import dataclasses

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

INDEXES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
#: What a manifest GET accepts; without it a registry may down-convert to schema 1.
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))


@dataclasses.dataclass(frozen=True)
class Format:
    """The media types of one image format; a new image keeps its base image's format."""

    manifest: str
    config: str
    layer: str
    #: Docker schema 2 has no annotations field; OCI manifests carry them.
    annotations: bool


OCI = Format(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, annotations=True)
DOCKER = Format(DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER, annotations=False)


def format_of(manifest_media_type: str) -> Format:
    return DOCKER if manifest_media_type == DOCKER_MANIFEST else OCI
