"""Small single-platform images of static binaries (argoexec, busybox), pushed to the registry.

The devstack cannot pull from the internet, so the images its real node needs besides Rollway's
own are made here from files built or installed on this machine: one reproducible layer, an OCI
config and manifest in an OCI layout cached by version, then `skopeo copy` to the registry.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .components.registry import ADDR, basic_auth
from .core import run
from .oci_layout import EPOCH, OCI_CONFIG, OCI_MANIFEST, REF_NAME, Entry, write_json, write_layer
from .stack import Context


def binary_image(
    target: Path, tag: str, entries: list[Entry], config: dict[str, object], about: str
) -> Path:
    """Write an OCI layout holding one linux/amd64 image of `entries` unless already there."""
    if (target / "index.json").exists():
        return target
    tmp = target.with_name(f".{target.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = tmp / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layer, diff_id = write_layer(blobs, entries)
    cfg = write_json(
        blobs,
        OCI_CONFIG,
        {
            "created": EPOCH,
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": EPOCH, "created_by": f"rollway devstack: {about}"}],
        },
    )
    manifest = write_json(
        blobs,
        OCI_MANIFEST,
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer]},
    )
    (tmp / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (tmp / "index.json").write_text(
        json.dumps(
            {"schemaVersion": 2, "manifests": [{**manifest, "annotations": {REF_NAME: tag}}]}
        )
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # built meanwhile by a concurrent `up`
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def push_layout(ctx: Context, layout: Path, tag: str, repository: str, log: Path) -> str:
    """Copy the layout's `tag` to ADDR/repository:tag; returns the reference pushed."""
    ref = f"{ADDR}/{repository}:{tag}"
    fd, authfile = tempfile.mkstemp(prefix="auth-", suffix=".json", dir=ctx.paths.work)
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp creates it 0600: the password stays private
            json.dump({"auths": {ADDR: {"auth": basic_auth(ctx)}}}, fh)
        run(
            ["skopeo", "copy", "--preserve-digests", "--dest-authfile", authfile,
             "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{ref}"],
            log=log,
        )  # fmt: skip
    finally:
        os.unlink(authfile)
    return ref
