"""The registry standing in for Harbor: auth, push/pull, deletes, and the seeded Java base image."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.base_image import AMD64_TAG, BASE_REPO, BASE_TAG, base_image_dir
from devstack.components.registry import Registry
from devstack.stack import Context

pytestmark = pytest.mark.integration

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = {"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"}


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@pytest.fixture(scope="module")
def env(devstack: Context) -> dict[str, str]:
    return Registry().exports(devstack)


@pytest.fixture
def client(env: dict[str, str]) -> Iterator[httpx.Client]:
    auth = (env["ROLLWAY_REGISTRY_USERNAME"], env["ROLLWAY_REGISTRY_PASSWORD"])
    with httpx.Client(base_url=env["ROLLWAY_REGISTRY_URL"], auth=auth, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def authfile(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A containers auth file, so skopeo gets the password without it appearing on argv."""
    path = tmp_path_factory.mktemp("auth") / "auth.json"
    path.touch(mode=0o600)
    token = f"{env['ROLLWAY_REGISTRY_USERNAME']}:{env['ROLLWAY_REGISTRY_PASSWORD']}"
    path.write_text(json.dumps({"auths": {env["ROLLWAY_REGISTRY"]: {"auth": _b64(token)}}}))
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"skopeo {args[0]} failed: {proc.stderr[-2000:]}"
    return proc


def push_blob(client: httpx.Client, repo: str, data: bytes) -> str:
    digest = sha256(data)
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    # The Location carries the upload's state in its query; the digest is added to it.
    done = client.put(
        httpx.URL(started.headers["Location"]).copy_merge_params({"digest": digest}),
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    return digest


def push_image(client: httpx.Client, repo: str, tag: str) -> tuple[bytes, bytes]:
    """Push a one-file image (unique content each run); returns (manifest, layer) bytes."""
    content = f"pushed by test_registry {uuid.uuid4()}\n".encode()
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as tf:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tf.addfile(info, io.BytesIO(content))
    layer = gzip.compress(tar.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar.getvalue())]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": push_blob(client, repo, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": push_blob(client, repo, layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    put = client.put(
        f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert put.status_code == 201, put.text
    assert put.headers["Docker-Content-Digest"] == sha256(manifest)
    return manifest, layer


# -- auth ---------------------------------------------------------------------------------------


def test_api_requires_credentials(env: dict[str, str]) -> None:
    url = f"{env['ROLLWAY_REGISTRY_URL']}/v2/"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    wrong = httpx.get(url, auth=(env["ROLLWAY_REGISTRY_USERNAME"], "not-the-password"))
    assert wrong.status_code == 401
    right = httpx.get(
        url, auth=(env["ROLLWAY_REGISTRY_USERNAME"], env["ROLLWAY_REGISTRY_PASSWORD"])
    )
    assert right.status_code == 200


@pytest.mark.parametrize("password", [None, "not-the-password"], ids=["anonymous", "wrong"])
def test_push_and_pull_are_refused_without_valid_credentials(
    env: dict[str, str], password: str | None
) -> None:
    auth = (env["ROLLWAY_REGISTRY_USERNAME"], password) if password else None
    with httpx.Client(base_url=env["ROLLWAY_REGISTRY_URL"], auth=auth) as c:
        assert c.post("/v2/devstack-tests/refused/blobs/uploads/").status_code == 401
        pulled = c.get(f"/v2/{BASE_REPO}/manifests/{BASE_TAG}", headers=ACCEPT)
        assert pulled.status_code == 401


# -- push, pull, delete -----------------------------------------------------------------------


def test_pushed_manifest_and_layer_pull_back_identical(client: httpx.Client) -> None:
    repo, tag = "devstack-tests/roundtrip", f"t-{uuid.uuid4().hex[:12]}"
    manifest, layer = push_image(client, repo, tag)

    pulled = client.get(f"/v2/{repo}/manifests/{tag}", headers=ACCEPT)
    assert pulled.status_code == 200
    assert pulled.headers["Content-Type"] == OCI_MANIFEST
    assert pulled.headers["Docker-Content-Digest"] == sha256(manifest)
    assert pulled.content == manifest

    blob = client.get(f"/v2/{repo}/blobs/{sha256(layer)}", follow_redirects=True)
    assert blob.status_code == 200
    assert sha256(blob.content) == sha256(layer)


def test_manifest_can_be_deleted_by_digest(client: httpx.Client) -> None:
    repo, tag = "devstack-tests/delete", f"t-{uuid.uuid4().hex[:12]}"
    manifest, _ = push_image(client, repo, tag)
    digest = sha256(manifest)
    assert client.head(f"/v2/{repo}/manifests/{digest}", headers=ACCEPT).status_code == 200

    deleted = client.delete(f"/v2/{repo}/manifests/{digest}")
    assert deleted.status_code == 202, deleted.text

    assert client.get(f"/v2/{repo}/manifests/{digest}", headers=ACCEPT).status_code == 404
    assert client.get(f"/v2/{repo}/manifests/{tag}", headers=ACCEPT).status_code == 404


# -- the seeded base image ------------------------------------------------------------------


def inspect_raw(env: dict[str, str], authfile: Path, tag: str) -> bytes:
    ref = f"docker://{env['ROLLWAY_REGISTRY']}/{BASE_REPO}:{tag}"
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--authfile", str(authfile), ref],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout


def by_platform(index: dict) -> dict[str, dict]:
    return {f"{m['platform']['os']}/{m['platform']['architecture']}": m for m in index["manifests"]}


def test_base_image_is_an_index_with_amd64_and_an_honest_arm64_fixture(
    env: dict[str, str], authfile: Path
) -> None:
    assert env["ROLLWAY_BASE_IMAGE"] == f"{env['ROLLWAY_REGISTRY']}/{BASE_REPO}:{BASE_TAG}"
    index = json.loads(inspect_raw(env, authfile, BASE_TAG))
    assert index["mediaType"] == OCI_INDEX
    platforms = by_platform(index)
    assert set(platforms) == {"linux/amd64", "linux/arm64"}
    assert all(m["mediaType"] == OCI_MANIFEST for m in index["manifests"])
    about_arm64 = platforms["linux/arm64"]["annotations"]["org.opencontainers.image.description"]
    assert "fixture" in about_arm64 and "no Java runtime" in about_arm64


def test_amd64_tag_is_the_plain_manifest_of_the_index(env: dict[str, str], authfile: Path) -> None:
    index = json.loads(inspect_raw(env, authfile, BASE_TAG))
    plain = inspect_raw(env, authfile, AMD64_TAG)
    assert json.loads(plain)["mediaType"] == OCI_MANIFEST
    assert sha256(plain) == by_platform(index)["linux/amd64"]["digest"]


def test_base_image_configs_and_layers_match_their_digests(client: httpx.Client) -> None:
    index = client.get(f"/v2/{BASE_REPO}/manifests/{BASE_TAG}", headers=ACCEPT).json()
    manifests = {}
    for platform, entry in by_platform(index).items():
        raw = client.get(f"/v2/{BASE_REPO}/manifests/{entry['digest']}", headers=ACCEPT)
        assert raw.status_code == 200
        assert sha256(raw.content) == entry["digest"]
        manifests[platform] = raw.json()

    for platform, manifest in manifests.items():
        config_raw = client.get(f"/v2/{BASE_REPO}/blobs/{manifest['config']['digest']}").content
        assert sha256(config_raw) == manifest["config"]["digest"]
        config = json.loads(config_raw)
        assert f"{config['os']}/{config['architecture']}" == platform
        diff_ids = config["rootfs"]["diff_ids"]
        assert len(diff_ids) == len(manifest["layers"])
        for layer, diff_id in zip(manifest["layers"], diff_ids, strict=True):
            blob = client.get(f"/v2/{BASE_REPO}/blobs/{layer['digest']}").content
            assert (sha256(blob), len(blob)) == (layer["digest"], layer["size"])
            assert sha256(gzip.decompress(blob)) == diff_id

    amd64_env = manifests["linux/amd64"]
    config = client.get(f"/v2/{BASE_REPO}/blobs/{amd64_env['config']['digest']}").json()
    assert "JAVA_HOME=/opt/java/openjdk" in config["config"]["Env"]
    path = next(e for e in config["config"]["Env"] if e.startswith("PATH="))
    assert path.startswith("PATH=/opt/java/openjdk/bin:")
    # The arm64 fixture reuses the accounts layer rather than inventing another.
    assert manifests["linux/arm64"]["layers"][0] == manifests["linux/amd64"]["layers"][0]


def extract_platform(layout: Path, platform: str, root: Path) -> None:
    """Unpack one platform's layers from an OCI layout, in order, as a runtime would."""
    blobs = layout / "blobs" / "sha256"
    top = json.loads((layout / "index.json").read_text())["manifests"][0]
    index = json.loads((blobs / top["digest"].removeprefix("sha256:")).read_bytes())
    entry = by_platform(index)[platform]
    manifest = json.loads((blobs / entry["digest"].removeprefix("sha256:")).read_bytes())
    for layer in manifest["layers"]:
        with tarfile.open(blobs / layer["digest"].removeprefix("sha256:")) as tar:
            tar.extractall(root, filter="tar")


def test_base_image_copies_to_an_oci_layout_and_its_java_runs(
    env: dict[str, str], authfile: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    skopeo(
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--src-authfile",
        str(authfile),
        f"docker://{env['ROLLWAY_BASE_IMAGE']}",
        f"oci:{layout}:{BASE_TAG}",
    )
    root = tmp_path / "rootfs"
    extract_platform(layout, "linux/amd64", root)

    assert "app:x:1000:1000:" in (root / "etc/passwd").read_text()
    assert "root:x:0:0:" in (root / "etc/passwd").read_text()
    assert "app:x:1000:" in (root / "etc/group").read_text()
    java_home = root / "opt/java/openjdk"
    assert sorted(p.name for p in (java_home / "bin").iterdir()) == ["java"]
    assert not (java_home / "jmods").exists() and not (java_home / "include").exists()
    assert (java_home / "lib/security/cacerts").is_file()
    assert [p for p in root.rglob("*") if p.is_symlink()] == []  # self-contained

    # Run the image's java with the image's own loader and libraries (no host JDK involved).
    loader = [str(root / "lib64/ld-linux-x86-64.so.2"), "--library-path"]
    loader.append(str(root / "lib/x86_64-linux-gnu"))
    for elf in ("bin/java", "lib/server/libjvm.so"):
        listed = subprocess.run(
            [*loader, "--list", str(java_home / elf)], capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        resolved = [ln.split("=>")[1].split()[0] for ln in listed.stdout.splitlines() if "=>" in ln]
        assert resolved and all(p.startswith(str(root)) for p in resolved), listed.stdout
    ran = subprocess.run(
        [*loader, str(java_home / "bin/java"), "-XshowSettings:properties", "-version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert f"java.home = {java_home}" in ran.stderr
    assert "java.specification.version = 17" in ran.stderr


def test_seeding_again_pushes_nothing(devstack: Context, client: httpx.Client) -> None:
    layout_index = json.loads((base_image_dir(devstack) / "index.json").read_text())
    built = {
        m["annotations"]["org.opencontainers.image.ref.name"]: m for m in layout_index["manifests"]
    }
    log = devstack.paths.log("registry")
    before = log.stat().st_size

    Registry().after_start(devstack)

    with log.open("rb") as fh:
        fh.seek(before)
        appended = fh.read().decode(errors="replace")
    pushes = [ln for ln in appended.splitlines() if "method=PUT" in ln and BASE_REPO in ln]
    assert pushes == [] and "Writing manifest" not in appended
    for tag in (BASE_TAG, AMD64_TAG):
        head = client.head(f"/v2/{BASE_REPO}/manifests/{tag}", headers=ACCEPT)
        assert head.headers["Docker-Content-Digest"] == built[tag]["digest"]
