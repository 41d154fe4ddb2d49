"""Maven repositories in Nexus' maven2 layout: coordinates, metadata, verified downloads."""

from .checksum import Checksum
from .client import Download, MavenClient, Resolved
from .coordinates import Coordinates
from .metadata import ArtifactMetadata, SnapshotMetadata, pick_version

__all__ = [
    "ArtifactMetadata",
    "Checksum",
    "Coordinates",
    "Download",
    "MavenClient",
    "Resolved",
    "SnapshotMetadata",
    "pick_version",
]
