"""Build an image from a jar onto a base image and push it, without a container daemon (like Jib).

The base image's manifest and config are read, never its layers: the new manifest reuses them by
digest. The jar's layers are built locally (or taken from the layer cache), the config and
manifest are derived from the base's, and everything is pushed tag-last.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound, UpstreamError
from . import media
from .cache import LayerCache
from .config import (
    RunSpec,
    check_base,
    descriptor,
    digest_of,
    encode,
    image_config,
    image_manifest,
    provenance,
)
from .credentials import find_credentials
from .jar import file_sha256, jar_layout
from .platform import Platform, select
from .push import Blob, push_image
from .reference import Reference
from .registry import RegistryClient, registry_url

log = logging.getLogger(__name__)

DEFAULT_PLATFORM = Platform("linux", "amd64")


@dataclasses.dataclass(frozen=True)
class BuildRequest:
    jar: Path
    base: Reference
    target: Reference
    platform: Platform = DEFAULT_PLATFORM
    #: groupId:artifactId:version of the jar, for labels and the default tag.
    coordinates: str | None = None
    #: The sha256 the jar must have (from resolve-artifact); checked before anything else.
    jar_sha256: str | None = None
    port: int | None = 8080
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def tag(self) -> str:
        """The target's tag, else the jar's version, else `latest`."""
        if self.target.tag:
            return self.target.tag
        return self.coordinates.rsplit(":", 1)[1] if self.coordinates else "latest"


@dataclasses.dataclass(frozen=True)
class BaseImage:
    reference: Reference
    digest: str  # of the platform's manifest, not of an index
    manifest: dict[str, Any]
    config: dict[str, Any]
    format: media.Format


@dataclasses.dataclass(frozen=True)
class BuildResult:
    image: str  # registry/repository@sha256:…
    digest: str
    tag: str
    base_digest: str
    jar_sha256: str
    #: Digests of the jar's layers, in image order.
    layers: tuple[str, ...]
    layers_cached: int
    pushed: bool
    blobs_uploaded: int
    bytes_uploaded: int
    blobs_mounted: int


def build_image(
    request: BuildRequest,
    *,
    cache_dir: Path | None,
    env: Mapping[str, str] | None = None,
    attempts: int = 5,
    backoff: float = 0.5,
) -> BuildResult:
    """Build and push; `cache_dir` None builds layers in a temporary directory instead."""
    env = os.environ if env is None else env
    if request.target.digest:
        raise InvalidInput(
            "must be a repository with an optional tag, not a digest", field="target"
        )
    jar_sha256 = file_sha256(request.jar)
    if request.jar_sha256 and request.jar_sha256.lower() != jar_sha256:
        raise InvalidInput(
            f"{request.jar} has sha256 {jar_sha256}, not {request.jar_sha256}", field="jar-sha256"
        )
    target, base_ref = request.target, request.base
    home = env.get("ROLLWAY_REGISTRY") or target.registry
    same_registry = base_ref.registry == target.registry

    def client(ref: Reference, scopes: list[str]) -> RegistryClient:
        return RegistryClient(
            ref.registry,
            url=registry_url(ref.api_host, env),
            credentials=find_credentials(ref.registry, home=home, env=env),
            scopes=scopes,
            attempts=attempts,
            backoff=backoff,
        )

    with contextlib.ExitStack() as stack:
        pull = f"repository:{base_ref.repository}:pull"
        push_scopes = [f"repository:{target.repository}:pull,push"]
        registry = stack.enter_context(
            client(target, [*push_scopes, pull] if same_registry else push_scopes)
        )
        source = registry if same_registry else stack.enter_context(client(base_ref, [pull]))
        registry.ping()
        if source is not registry:
            source.ping()
        base = resolve_base(source, base_ref, request.platform)
        log.info("base %s (%s) is %s", base_ref, request.platform, base.digest)

        cache_root = cache_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cache = LayerCache(cache_root)
        with jar_layout(request.jar, jar_sha256) as layout:
            built = []
            for plan in layout.layers:
                layer, hit = cache.layer(plan.entries)
                log.info("layer %s: %s (%s)", plan.name, layer.digest, "cached" if hit else "built")
                built.append((layer, plan.created_by, hit))

        labels = provenance(
            jar_sha256=jar_sha256,
            base_name=str(base_ref),
            base_digest=base.digest,
            coordinates=request.coordinates,
        )
        run = RunSpec(
            layout.entrypoint,
            layout.working_dir,
            request.env,
            request.port,
            {**request.labels, **labels},
        )
        config = encode(image_config(base.config, [(lyr, what) for lyr, what, _ in built], run))
        config_descriptor = descriptor(base.format.config, digest_of(config), len(config))
        layers = [layer for layer, _, _ in built]
        manifest = encode(
            image_manifest(base.format, config_descriptor, base.manifest["layers"], layers, labels)
        )
        blobs = {
            **{
                d["digest"]: Blob(d["digest"], d["size"], source=(source, base_ref.repository))
                for d in base.manifest["layers"]
            },
            **{
                layer.digest: Blob(layer.digest, layer.size, content=layer.path) for layer in layers
            },
            config_descriptor["digest"]: Blob(config_descriptor["digest"], len(config), config),
        }
        digest, stats = push_image(
            registry,
            target.repository,
            list(blobs.values()),
            manifest,
            base.format.manifest,
            request.tag,
        )
    log.info("pushed %s@%s as %s", target.name, digest, request.tag)
    return BuildResult(
        image=f"{target.name}@{digest}",
        digest=digest,
        tag=request.tag,
        base_digest=base.digest,
        jar_sha256=jar_sha256,
        layers=tuple(layer.digest for layer in layers),
        layers_cached=sum(hit for _, _, hit in built),
        pushed=stats.pushed,
        blobs_uploaded=stats.blobs_uploaded,
        bytes_uploaded=stats.bytes_uploaded,
        blobs_mounted=stats.blobs_mounted,
    )


def resolve_base(client: RegistryClient, ref: Reference, platform: Platform) -> BaseImage:
    """The base image's manifest for `platform` (picked from an index) and its config."""
    try:
        body, kind, digest = client.get_manifest(ref.repository, ref.ref)
        doc = _json(body, ref)
        kind = doc.get("mediaType") or kind
        if kind in media.INDEXES:
            entry = select(doc.get("manifests") or [], platform, str(ref))
            body, kind, digest = client.get_manifest(ref.repository, entry["digest"])
            doc = _json(body, ref)
            kind = doc.get("mediaType") or kind
        if kind not in media.MANIFESTS:
            raise UpstreamError(
                f"base image {ref}: unsupported manifest type {kind!r} "
                "(an OCI or Docker schema 2 image is needed)"
            )
        config = _json(client.get_blob(ref.repository, doc["config"]["digest"]), ref)
    except NotFound as err:
        if err.field:  # the platform is missing, not the image
            raise
        raise NotFound(f"base image {ref} not found: {err.message}", field="base") from err
    actual = Platform.of(config)
    if not platform.matches(actual):
        raise InvalidInput(f"base image {ref} is {actual}, not {platform}", field="platform")
    check_base(doc, config, str(ref))
    return BaseImage(ref, digest, doc, config, media.format_of(kind))


def _json(body: bytes, ref: Reference) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError as err:
        raise UpstreamError(f"base image {ref}: a manifest or config is not JSON") from err
    if not isinstance(doc, dict):
        raise UpstreamError(f"base image {ref}: a manifest or config is not a JSON object")
    return doc
