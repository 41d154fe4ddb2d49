"""Build an image from a jar onto a base image and push it, without a container daemon (like Jib).

The base image's manifest and config are read, never its layers: the new manifest reuses them by
digest. The jar's layers are built locally (or taken from the layer cache) while the base is
read — and, for a new tag, its per-version layer uploaded while it is built — the config and
manifest are derived from the base's, and everything is pushed tag-last.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..destinations import Homes
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
from .credentials import PASSWORD, REGISTRY, USERNAME, find_credentials
from .early import EarlyUploads
from .growing import GrowingFile
from .jar import JarLayout, file_sha256, jar_layout
from .layer import Layer
from .platform import Platform, select
from .push import Blob, push_image
from .reference import TAG, Reference
from .registry import RegistryClient, registry_url
from .tls import trust_store

if TYPE_CHECKING:
    import ssl

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
    pushed: bool
    blobs_uploaded: int
    bytes_uploaded: int
    blobs_mounted: int
    #: How many of the jar's layers came from the local layer cache instead of tar+gzip.
    layers_cached: int


def build_image(
    request: BuildRequest,
    *,
    cache_dir: Path | None,
    env: Mapping[str, str] | None = None,
    attempts: int = 5,
    backoff: float = 0.5,
    hashed: concurrent.futures.Future[str] | None = None,
) -> BuildResult:
    """Build and push; `cache_dir` None builds layers in a temporary directory instead.
    `hashed`: the jar's sha256 already being computed (the step starts it before this module
    is imported), else it is hashed here."""
    env = os.environ if env is None else env
    if not TAG.match(request.tag):  # checked now: a bad tag would fail after every upload
        field = "target" if request.target.tag else "coordinates"  # where the tag came from
        raise InvalidInput(f"{request.tag!r} is not a valid image tag", field=field)
    if request.target.digest:
        raise InvalidInput("must be a repository and a tag, not a digest", field="target")
    target, base_ref = request.target, request.base
    with contextlib.ExitStack() as stack:
        cache = LayerCache(cache_dir or Path(stack.enter_context(tempfile.TemporaryDirectory())))
        # The jar is hashed, then its layers built (or found in the cache), on a thread while the
        # clients are made and the base image is resolved: the jar needs no registry, the base no
        # jar. Its sha256 is still checked before the first request. (The pools are left, so
        # waited for, before the temporary cache goes; reads of layers still growing are given
        # up first.)
        side = stack.enter_context(concurrent.futures.ThreadPoolExecutor(3))
        urls = {ref.registry: registry_url(ref.api_host, env) for ref in (target, base_ref)}
        trust = (  # TLS's certificates, loaded while the jar is hashed; none for plain HTTP
            side.submit(trust_store, env) if any(u.startswith("https:") for u in urls.values())
            else None
        )  # fmt: skip
        early = EarlyUploads(side)
        stack.callback(early.close)
        worker = stack.enter_context(concurrent.futures.ThreadPoolExecutor(1))
        hashing = worker.submit(_checked_sha256, request, hashed)
        building = worker.submit(
            lambda: _build_layers(request.jar, hashing.result(), cache, early.offer)
        )
        registry, source = _clients(stack, request, urls, env, attempts, backoff, trust)
        jar_sha256 = hashing.result()
        for client in dict.fromkeys((registry, source)):  # settles authentication first
            client.ping()
        # Whether the tag is new decides the early upload; asked while the base is resolved.
        deciding = side.submit(_decide_early, early, registry, target.repository, request.tag)
        base = resolve_base(source, base_ref, request.platform)
        log.info("base %s (%s) is %s", base_ref, request.platform, base.digest)
        layout, built = building.result()
        deciding.result()  # every early upload is begun before the blobs are listed
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
        layers = [layer for layer, _, _ in built]
        config = encode(image_config(base.config, [(lyr, what) for lyr, what, _ in built], run))
        config_descriptor = descriptor(base.format.config, digest_of(config), len(config))
        manifest = encode(
            image_manifest(base.format, config_descriptor, base.manifest["layers"], layers, labels)
        )
        blobs = {  # by digest: a blob listed twice is pushed once
            **{
                d["digest"]: Blob(d["digest"], d["size"], source=(source, base_ref.repository))
                for d in base.manifest["layers"]
            },
            **{
                layer.digest: Blob(
                    layer.digest, layer.size, layer.path, early=early.of(layer.digest)
                )
                for layer in layers
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
    cached = sum(hit for _, _, hit in built)
    log.info(
        "pushed %s@%s as %s: %d of %d jar layers from the cache, %d blobs uploaded (%d bytes), "
        "%d mounted",
        target.name, digest, request.tag, cached, len(built), stats.blobs_uploaded,
        stats.bytes_uploaded, stats.blobs_mounted,
    )  # fmt: skip
    return BuildResult(
        image=f"{target.name}@{digest}",
        digest=digest,
        tag=request.tag,
        base_digest=base.digest,
        pushed=stats.pushed,
        blobs_uploaded=stats.blobs_uploaded,
        bytes_uploaded=stats.bytes_uploaded,
        blobs_mounted=stats.blobs_mounted,
        layers_cached=cached,
    )


def _clients(
    stack: contextlib.ExitStack,
    request: BuildRequest,
    urls: Mapping[str, str],
    env: Mapping[str, str],
    attempts: int,
    backoff: float,
    trust: concurrent.futures.Future[ssl.SSLContext] | None,
) -> tuple[RegistryClient, RegistryClient]:
    """Clients for the target registry and the base image's (the same one when they match:
    then one token covers pushing to the target and mounting from the base repository); made,
    not yet asked anything."""
    target, base = request.target, request.base
    home = platform_registry(target.registry, env)

    def client(ref: Reference, scopes: list[str]) -> RegistryClient:
        return stack.enter_context(
            RegistryClient(
                ref.registry,
                url=urls[ref.registry],
                credentials=find_credentials(ref.registry, home=home, env=env),
                scopes=scopes,
                attempts=attempts,
                backoff=backoff,
                trust=trust.result() if trust else None,
            )
        )

    pull = f"repository:{base.repository}:pull"
    push = f"repository:{target.repository}:pull,push"
    if base.registry == target.registry:
        registry = client(target, [push, pull])
        return registry, registry
    return client(target, [push]), client(base, [pull])


def platform_registry(target: str, env: Mapping[str, str]) -> str | None:
    """`ROLLWAY_REGISTRY`, the one host the ROLLWAY_REGISTRY_* credentials are for.

    With those credentials set, a push anywhere else is refused before any connection, and so
    is a push when ROLLWAY_REGISTRY is unset: an app's image repository must never receive them.
    """
    home = Homes.from_env(env).registry
    if not any(env.get(name) or env.get(f"{name}_FILE") for name in (USERNAME, PASSWORD)):
        return home
    if home is None:
        raise InvalidInput(
            f"is not set: it names the registry {USERNAME}/{PASSWORD} are for", field=REGISTRY
        )
    if target != home:
        raise InvalidInput(
            f"{target} is not the platform registry {home} ({REGISTRY}); images are pushed "
            "only there",
            field="target",
        )
    return home


def _decide_early(early: EarlyUploads, registry: RegistryClient, repository: str, tag: str) -> None:
    """Upload per-version layers early into a repository that lacks the tag: a new version."""
    new_tag = registry.manifest_digest(repository, tag) is None
    early.decide(registry if new_tag else None, repository)


def _checked_sha256(request: BuildRequest, hashed: concurrent.futures.Future[str] | None) -> str:
    """The jar's sha256, which must be the one the request names, if it names one."""
    jar_sha256 = hashed.result() if hashed is not None else file_sha256(request.jar)
    if request.jar_sha256 and request.jar_sha256.lower() != jar_sha256:
        raise InvalidInput(
            f"{request.jar} has sha256 {jar_sha256}, not {request.jar_sha256}", field="jar-sha256"
        )
    return jar_sha256


def _build_layers(
    jar: Path, jar_sha256: str, cache: LayerCache, offer: Callable[[GrowingFile], None]
) -> tuple[JarLayout, list[tuple[Layer, str, bool]]]:
    """The jar's layers as (layer, history line, came from the cache), built or cached; a
    per-version layer being built is offered for an early upload."""
    built = []
    with jar_layout(jar, jar_sha256) as layout:
        for plan in layout.layers:
            layer, hit = cache.layer(plan.entries, watch=offer if plan.per_version else None)
            log.info("layer %s: %s (%s)", plan.name, layer.digest, "cached" if hit else "built")
            built.append((layer, plan.created_by, hit))
    return layout, built


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
    return BaseImage(digest, doc, config, media.format_of(kind))


def _json(body: bytes, ref: Reference) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError as err:
        raise UpstreamError(f"base image {ref}: a manifest or config is not JSON") from err
    if not isinstance(doc, dict):
        raise UpstreamError(f"base image {ref}: a manifest or config is not a JSON object")
    return doc
