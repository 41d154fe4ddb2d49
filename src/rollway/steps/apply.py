"""apply: rendered manifests → the target namespace, by server-side apply, stamped with where
they came from (deployment id, jar, image digest, chart commit)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import click
import yaml

from ..errors import InvalidInput, RollwayError
from ..validation import dns_label
from . import outputs


def load_manifests(path: Path, sha256: str | None = None) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML file (empty documents skipped); with `sha256`, only
    if the file is the one rendered (and approved): read once, so what is hashed is what applies."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}", field="manifests") from None
    if sha256 is not None and (found := hashlib.sha256(data).hexdigest()) != sha256:
        raise InvalidInput(
            f"{path} changed since it was rendered (sha256 {found}, the plan holds {sha256}): "
            "nothing is applied",
            field="manifests-sha256",
        )
    try:
        documents = list(yaml.safe_load_all(data.decode()))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{path} is not valid YAML: {err}", field="manifests") from None
    manifests = [doc for doc in documents if doc is not None]
    for index, doc in enumerate(manifests, 1):
        if not isinstance(doc, dict):
            raise InvalidInput(f"document {index} of {path} is not an object", field="manifests")
    if not manifests:
        raise InvalidInput(f"{path} holds no objects", field="manifests")
    return manifests


@click.command("apply")
@click.option("--manifests", "manifests_path", required=True, type=click.Path(path_type=Path))
@click.option("--namespace", required=True, help="Target namespace (created when missing).")
@click.option("--deployment-id", required=True, help="Becomes the rollway.io/deployment-id label.")
@click.option("--artifact", required=True, help="Exact Maven coordinates of the jar.")
@click.option("--jar-sha256", required=True)
@click.option("--image-digest", required=True, help="sha256:<digest> of the image.")
@click.option("--chart-repo", required=True)
@click.option("--chart-commit", required=True)
@click.option(
    "--manifests-sha256",
    help="SHA-256 the render step published (the approved plan holds it): anything else is "
    "refused.",
)
@outputs.option
def command(
    manifests_path: Path,
    namespace: str,
    deployment_id: str,
    artifact: str,
    jar_sha256: str,
    image_digest: str,
    chart_repo: str,
    chart_commit: str,
    manifests_sha256: str | None,
    outputs_dir: Path,
) -> None:
    """Server-side apply every object (field manager `rollway`) with provenance stamped on it
    and on the Rollout's pods; all of it is validated, then dry-run, before any of it applies."""
    from ..kube.apply import Applier
    from ..kube.provenance import Provenance, stamp

    dns_label("namespace", namespace)
    provenance = Provenance(
        deployment_id, artifact, jar_sha256, image_digest, chart_repo, chart_commit
    )
    manifests = [stamp(m, provenance) for m in load_manifests(manifests_path, manifests_sha256)]
    applier = Applier()
    targets = applier.plan(manifests, namespace)
    rollouts = [t for t in targets if t.kind == "Rollout"]
    if len(rollouts) != 1:
        raise InvalidInput(
            f"must hold exactly one Rollout, not {len(rollouts)}: "
            "Rollway releases one Rollout per deployment",
            field="manifests",
        )
    created = not applier.namespace_exists(namespace)
    if created:
        applier.create_namespace(namespace)
    try:
        for target in targets:
            applier.apply(target, dry_run=True)
    except RollwayError:
        if created:  # leave the cluster as it was
            applier.delete_namespace(namespace)
        raise
    applied = {str(target): applier.apply(target) for target in targets}
    rollout = applied[str(rollouts[0])]
    outputs.emit(
        {
            "applied": list(applied),
            "rollout": rollouts[0].name,
            "generation": str(rollout["metadata"]["generation"]),
            "namespace-created": "true" if created else "false",
        },
        outputs_dir,
    )
