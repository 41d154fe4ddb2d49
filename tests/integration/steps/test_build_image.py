"""`rollway-step build-image` against the real registry and Maven repository of the devstack.

Jars come from the Maven repository over HTTP. What the step pushed is checked with skopeo (an
independent client) and with the registry's own log, which shows every request it served; where
possible the image is also run, with `unshare --root` over its extracted layers.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk, jwt

from devstack.stack import Context
from rollway.errors import TransientError
from rollway.image import BuildRequest, build_image, parse_reference
from tests.support.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

STEP = str(Path(sys.executable).parent / "rollway-step")
BASE_REPO = "library/eclipse-temurin"
LOG_LINE = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)')


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(devstack_env: dict[str, str]) -> dict[str, str]:
    return devstack_env


@pytest.fixture(scope="module")
def registry(env: dict[str, str]) -> str:
    return env["ROLLWAY_REGISTRY"]


@pytest.fixture(scope="module")
def jars(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Path]:
    """Download com.example:<artifact>:<version> from the Maven repository, checking its sha256."""
    folder = tmp_path_factory.mktemp("jars")
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])

    def download(artifact: str, version: str) -> Path:
        dest = folder / f"{artifact}-{version}.jar"
        if dest.exists():
            return dest
        url = (
            f"{env['ROLLWAY_MAVEN_URL']}/com/example/{artifact}/{version}/{artifact}-{version}.jar"
        )
        with httpx.Client(auth=auth, timeout=60) as client:
            expected = client.get(f"{url}.sha256").raise_for_status().text.strip()
            sha = hashlib.sha256()
            with client.stream("GET", url) as response, dest.open("wb") as out:
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    sha.update(chunk)
                    out.write(chunk)
        assert sha.hexdigest() == expected, f"{url} does not match its published sha256"
        return dest

    return download


@pytest.fixture(scope="module")
def authfile(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A containers auth file, so skopeo gets the password without it appearing on argv."""
    path = tmp_path_factory.mktemp("auth") / "auth.json"
    path.touch(mode=0o600)
    token = f"{env['ROLLWAY_REGISTRY_USERNAME']}:{env['ROLLWAY_REGISTRY_PASSWORD']}"
    path.write_text(json.dumps({"auths": {env["ROLLWAY_REGISTRY"]: {"auth": _b64(token)}}}))
    return path


@pytest.fixture
def repo() -> str:
    """A repository name nobody has pushed to yet."""
    return f"it/build-image/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def registry_log(devstack: Context) -> Path:
    return devstack.paths.log("registry")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- helpers ----------------------------------------------------------------------------------


@dataclass
class Step:
    proc: subprocess.CompletedProcess[str]
    outputs: dict[str, str]

    @property
    def out(self) -> str:
        return self.proc.stdout + self.proc.stderr


def build(
    env: dict[str, str], tmp: Path, *args: str, cache: Path | None = None, **extra: str
) -> Step:
    """Run the step as a workflow pod does; outputs are read from the files it writes."""
    outputs = tmp / f"outputs-{uuid.uuid4().hex[:6]}"
    step_env = {
        **env,
        "ROLLWAY_OUTPUTS_DIR": str(outputs),
        "ROLLWAY_LAYER_CACHE": str(cache or tmp / "layer-cache"),
        **extra,
    }
    proc = subprocess.run(
        [STEP, "build-image", *args],
        env=step_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    files = {p.name: p.read_text() for p in outputs.glob("*")} if outputs.exists() else {}
    return Step(proc, files)


def build_ok(env: dict[str, str], tmp: Path, *args: str, **kwargs: Any) -> Step:
    step = build(env, tmp, *args, **kwargs)
    assert step.proc.returncode == 0, step.out
    assert json.loads(step.proc.stdout.strip().splitlines()[-1])["digest"] == step.outputs["digest"]
    return step


def skopeo(authfile: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["skopeo", args[0], "--authfile", str(authfile), *args[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"skopeo {args[0]} failed: {proc.stderr[-2000:]}"
    return proc


def raw_manifest(authfile: Path, ref: str) -> tuple[bytes, dict[str, Any]]:
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--authfile", str(authfile), "--tls-verify=false",
         f"docker://{ref}"],
        capture_output=True,
        timeout=120,
        check=True,
    )  # fmt: skip
    return proc.stdout, json.loads(proc.stdout)


def copy_to_layout(authfile: Path, ref: str, dest: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """skopeo copy into an OCI layout; returns (manifest, config) read back from the layout."""
    skopeo(authfile, "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{dest}:image")
    index = json.loads((dest / "index.json").read_text())
    manifest = json.loads(_blob(dest, index["manifests"][0]["digest"]).read_bytes())
    config = json.loads(_blob(dest, manifest["config"]["digest"]).read_bytes())
    return manifest, config


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def diff_id(path: Path) -> str:
    sha = hashlib.sha256()
    with gzip.open(path) as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def layer_files(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return [member.name for member in tar if member.isfile()]


class RegistryLog:
    """The requests the registry served since `mark()`, read from its own log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def requests(self, agent: str = "rollway/") -> list[dict[str, str]]:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            text = fh.read().decode(errors="replace")
        served = []
        for line in text.splitlines():
            fields = {k: v.strip('"') for k, v in LOG_LINE.findall(line)}
            if fields.get("msg") == "response completed" and fields.get(
                "http.request.useragent", ""
            ).startswith(agent):
                served.append(fields)
        return served

    def uploads(self, repository: str) -> list[str]:
        """Digests of blob uploads completed into `repository` (PUT …/blobs/uploads/…?digest=)."""
        return [
            urllib.parse.parse_qs(urllib.parse.urlsplit(r["http.request.uri"]).query)["digest"][0]
            for r in self.requests()
            if r["http.request.method"] == "PUT"
            and r["http.response.status"] == "201"
            and r["http.request.uri"].startswith(f"/v2/{repository}/blobs/uploads/")
        ]

    def mounts(self, repository: str) -> list[str]:
        return [
            urllib.parse.parse_qs(urllib.parse.urlsplit(r["http.request.uri"]).query)["mount"][0]
            for r in self.requests()
            if r["http.request.method"] == "POST"
            and r["http.response.status"] == "201"
            and r["http.request.uri"].startswith(f"/v2/{repository}/blobs/uploads/?")
        ]

    def served(self, method: str, path_prefix: str) -> list[dict[str, str]]:
        return [
            r
            for r in self.requests()
            if r["http.request.method"] == method and r["http.request.uri"].startswith(path_prefix)
        ]


def base_manifests(authfile: Path, registry: str) -> dict[str, dict[str, Any]]:
    """The seeded base image's manifest per platform (`linux/amd64`, `linux/arm64`)."""
    _, index = raw_manifest(authfile, f"{registry}/{BASE_REPO}:17-jre")
    found = {}
    for entry in index["manifests"]:
        platform = f"{entry['platform']['os']}/{entry['platform']['architecture']}"
        found[platform] = raw_manifest(authfile, f"{registry}/{BASE_REPO}@{entry['digest']}")[1]
    return found


class CuttingProxy:
    """A TCP relay in front of the real registry that cuts the first blob upload (by `method`)
    off halfway through: a real dropped connection, at the worst moment."""

    def __init__(self, upstream_port: int, method: str = "PUT") -> None:
        self.request = f"{method} /v2/".encode()
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.cuts = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(self.upstream)
            for src, dst, watch in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, watch), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        try:
            while data := src.recv(1 << 16):
                if watch and self.request in data and b"/blobs/uploads/" in data and self._cut():
                    dst.sendall(data[: len(data) // 2])
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _cut(self) -> bool:
        with self._lock:
            self.cuts += 1
            return self.cuts == 1


@pytest.fixture(params=["PUT", "PATCH"])
def cutting_proxy(registry: str, request: pytest.FixtureRequest) -> Iterator[CuttingProxy]:
    """Cutting a monolithic upload (retried) or the stream of a layer still being built (which
    is then uploaded whole)."""
    proxy = CuttingProxy(int(registry.rsplit(":", 1)[1]), request.param)
    yield proxy
    proxy.close()


class TokenRegistry:
    """A second real registry (distribution), in token-auth mode as Harbor runs it, and the
    token service it trusts: Docker's token spec, ES256 JWTs with the signing cert in `x5c`."""

    ISSUER = "rollway-test-token-issuer"
    SERVICE = "rollway-test-registry"

    def __init__(self, root: Path) -> None:
        self.username, self.password = "robot$token-test", uuid.uuid4().hex
        self.scopes_seen: list[list[str]] = []
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.ISSUER)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        (root / "issuer.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self._key = jwk.JWK.from_pem(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.tokens = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.tokens.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{free_port()}"
        config = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
            "http": {"addr": self.address},
            "auth": {
                "token": {
                    "realm": f"http://127.0.0.1:{self.tokens.server_port}/token",
                    "service": self.SERVICE,
                    "issuer": self.ISSUER,
                    "rootcertbundle": str(root / "issuer.pem"),
                }
            },
        }
        (root / "config.yml").write_text(json.dumps(config))
        self.log = root / "registry.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["docker-registry", "serve", str(root / "config.yml")], stdout=out, stderr=out
            )
        wait_for("the token registry", self._challenges, timeout=30)

    def _challenges(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()[-2000:]
        try:
            response = httpx.get(f"http://{self.address}/v2/", timeout=2)
        except httpx.TransportError:
            return False
        return response.headers.get("WWW-Authenticate", "").startswith("Bearer ")

    def _token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            repository, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": repository, "actions": actions.split(",")})
        now = int(time.time())
        token = jwt.JWT(
            header={"alg": "ES256", "typ": "JWT", "x5c": [self._x5c]},
            claims={
                "iss": self.ISSUER, "sub": self.username, "aud": self.SERVICE,
                "iat": now, "nbf": now - 10, "exp": now + 300, "jti": uuid.uuid4().hex,
                "access": access,
            },
        )  # fmt: skip
        token.make_signed_token(self._key)
        return str(token.serialize())

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        registry = self
        expected = "Basic " + _b64(f"{self.username}:{self.password}")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                registry.scopes_seen.append(query.get("scope", []))
                body = json.dumps(
                    {"token": registry._token(query.get("scope", [])), "expires_in": 300}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.tokens.shutdown()


@pytest.fixture(scope="module")
def token_registry(
    registry: str, authfile: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TokenRegistry]:
    """The token registry, holding a copy of the base image (put there by skopeo)."""
    reg = TokenRegistry(tmp_path_factory.mktemp("token-registry"))
    try:
        auths = json.loads(authfile.read_text())
        auths["auths"][reg.address] = {"auth": _b64(f"{reg.username}:{reg.password}")}
        both = authfile.with_name("both.json")
        both.write_text(json.dumps(auths))
        skopeo(
            both, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
            f"docker://{registry}/{BASE_REPO}:17-jre", f"docker://{reg.address}/{BASE_REPO}:17-jre",
            "--all",
        )  # fmt: skip
        yield reg
    finally:
        reg.close()


# -- running an image -------------------------------------------------------------------------


def _can_unshare() -> bool:
    probe = ["unshare", "--fork", "--pid", "--mount", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


needs_unshare = pytest.mark.skipif(
    not _can_unshare(), reason="running an image needs `unshare --mount --pid` (root)"
)


def run_image(layout: Path, manifest: dict[str, Any], config: dict[str, Any], rootfs: Path) -> str:
    """Run the image as a container runtime would: its layers as the root filesystem, its
    Entrypoint, Env, WorkingDir and User; returns what the app answers on `/`."""
    rootfs.mkdir()
    for layer in manifest["layers"]:
        with tarfile.open(_blob(layout, layer["digest"])) as tar:
            tar.extractall(rootfs, filter="tar")
    (rootfs / "proc").mkdir(exist_ok=True)  # a runtime's mount point, not part of the image
    spec = config["config"]
    port = free_port()
    uid, _, gid = spec["User"].partition(":")
    env = dict(line.split("=", 1) for line in spec["Env"]) | {"PORT": str(port)}
    proc = subprocess.Popen(
        ["unshare", "--fork", "--pid", "--mount", f"--root={rootfs}", "--mount-proc=/proc",
         f"--wd={spec['WorkingDir']}", f"--setuid={uid}", f"--setgid={gid or uid}",
         *spec["Entrypoint"]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so the app can be stopped with it
    )  # fmt: skip
    try:

        def answer() -> str | None:
            assert proc.poll() is None, (
                f"the app exited: {proc.stdout.read() if proc.stdout else ''}"
            )
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text
            except httpx.TransportError:
                return None

        return str(wait_for("the app to answer", answer, timeout=60))
    finally:
        # unshare ignores SIGTERM while it waits, and --setuid clears --kill-child's death
        # signal: the whole process group goes.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


# -- tests ------------------------------------------------------------------------------------


def test_build_push_and_verify_with_skopeo(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    registry_log: Path,
    tmp_path: Path,
) -> None:
    jar = jars("hello", "1.0.0")
    log = RegistryLog(registry_log)
    step = build_ok(
        env, tmp_path, "--jar", str(jar), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", f"{registry}/{repo}", "--coordinates", "com.example:hello:1.0.0",
        "--jar-sha256", hashlib.sha256(jar.read_bytes()).hexdigest(),
        "--env", "JAVA_TOOL_OPTIONS=-XX:+UseSerialGC", "--label", "team=payments",
    )  # fmt: skip
    out = step.outputs
    digest = out["digest"]
    assert out["image"] == f"{registry}/{repo}@{digest}"
    assert out["tag"] == "1.0.0"  # the version, as no tag was given
    assert out["pushed"] == "true"

    raw, manifest = raw_manifest(authfile, f"{registry}/{repo}:1.0.0")
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == digest  # the tag points at our digest
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    base = base_manifests(authfile, registry)["linux/amd64"]
    assert manifest["layers"][:-1] == base["layers"]  # base layers reused by digest
    assert len(manifest["layers"]) == len(base["layers"]) + 1
    assert manifest["annotations"]["io.rollway.artifact"] == "com.example:hello:1.0.0"

    layout = tmp_path / "layout"
    copied, config = copy_to_layout(authfile, f"{registry}/{repo}@{digest}", layout)
    assert copied == manifest
    for layer, expected_diff_id in zip(
        manifest["layers"], config["rootfs"]["diff_ids"], strict=True
    ):
        assert sha256_file(_blob(layout, layer["digest"])) == layer["digest"]
        assert diff_id(_blob(layout, layer["digest"])) == expected_diff_id
    assert layer_files(_blob(layout, manifest["layers"][-1]["digest"])) == ["app/app.jar"]

    spec = config["config"]
    assert spec["Entrypoint"] == ["java", "-jar", "/app/app.jar"]
    assert "Cmd" not in spec
    assert spec["WorkingDir"] == "/app"
    assert spec["User"] == "1000"
    assert spec["ExposedPorts"] == {"8080/tcp": {}}
    assert "JAVA_HOME=/opt/java/openjdk" in spec["Env"]
    assert "JAVA_TOOL_OPTIONS=-XX:+UseSerialGC" in spec["Env"]
    labels = spec["Labels"]
    assert labels["team"] == "payments"
    assert labels["io.rollway.artifact"] == "com.example:hello:1.0.0"
    assert labels["io.rollway.jar-sha256"] == hashlib.sha256(jar.read_bytes()).hexdigest()
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["org.opencontainers.image.base.digest"] == out["base_digest"]
    assert config["created"] == "1970-01-01T00:00:01Z"
    assert len(config["history"]) == len(manifest["layers"])

    # The registry saw base layers mounted, our layer and config uploaded, no base layer read;
    # the tag was new, so the jar's layer was streamed up (one PATCH) while it was deflated.
    assert len(log.served("PATCH", f"/v2/{repo}/blobs/uploads/")) == 1
    assert sorted(log.mounts(repo)) == sorted(d["digest"] for d in base["layers"])
    assert sorted(log.uploads(repo)) == sorted(
        [manifest["layers"][-1]["digest"], manifest["config"]["digest"]]
    )
    for layer in base["layers"]:
        assert not log.served("GET", f"/v2/{BASE_REPO}/blobs/{layer['digest']}")
    manifest_puts = [r["http.request.uri"] for r in log.served("PUT", f"/v2/{repo}/manifests/")]
    assert manifest_puts == [f"/v2/{repo}/manifests/1.0.0"]  # stored and tagged at once
    assert out["blobs_uploaded"] == "2"
    assert int(out["bytes_uploaded"]) == manifest["layers"][-1]["size"] + manifest["config"]["size"]


def test_same_input_same_digest_and_nothing_pushed_twice(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    registry_log: Path,
    tmp_path: Path,
) -> None:
    jar = jars("hello-fat", "1.0.0")
    target = f"{registry}/{repo}:1.0.0"
    first = build_ok(
        env, tmp_path, "--jar", str(jar), "--base", env["ROLLWAY_BASE_IMAGE"], "--target", target
    )
    assert first.outputs["pushed"] == "true"
    assert int(first.outputs["bytes_uploaded"]) > 60_000_000

    # Again from scratch: another file name, an empty layer cache: every byte is rebuilt.
    again = tmp_path / "renamed.jar"
    again.write_bytes(jar.read_bytes())
    log = RegistryLog(registry_log)
    second = build_ok(
        env, tmp_path, "--jar", str(again), "--base", env["ROLLWAY_BASE_IMAGE"], "--target", target,
        cache=tmp_path / "empty-cache",
    )  # fmt: skip
    assert second.outputs["digest"] == first.outputs["digest"]
    assert (second.outputs["pushed"], second.outputs["blobs_uploaded"]) == ("false", "0")
    assert second.outputs["bytes_uploaded"] == "0"
    assert log.uploads(repo) == []
    # The tag was there: the layer was not sent early either.
    assert log.served("PATCH", f"/v2/{repo}/blobs/uploads/") == []
    assert log.mounts(repo) == []
    assert log.served("PUT", f"/v2/{repo}/manifests/") == []


def test_platform_is_picked_from_the_index(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    tmp_path: Path,
) -> None:
    jar = jars("hello", "1.0.0")
    bases = base_manifests(authfile, registry)
    images = {}
    for platform in ("linux/amd64", "linux/arm64"):
        tag = platform.replace("/", "-")
        step = build_ok(
            env, tmp_path, "--jar", str(jar), "--base", env["ROLLWAY_BASE_IMAGE"],
            "--target", f"{registry}/{repo}:{tag}", "--platform", platform,
        )  # fmt: skip
        _, manifest = raw_manifest(authfile, f"{registry}/{repo}:{tag}")
        base = bases[platform]
        assert manifest["layers"][: len(base["layers"])] == base["layers"]
        assert step.outputs["base_digest"] != ""
        images[platform] = manifest
    amd64, arm64 = images["linux/amd64"], images["linux/arm64"]
    assert amd64["layers"][:-1] != arm64["layers"][:-1]  # different base layers…
    assert amd64["layers"][-1] == arm64["layers"][-1]  # …and the same jar layer
    config = json.loads(
        skopeo(authfile, "inspect", "--config", "--raw", "--tls-verify=false",
               f"docker://{registry}/{repo}:linux-arm64").stdout
    )  # fmt: skip
    assert config["architecture"] == "arm64"

    wrong = build(
        env, tmp_path, "--jar", str(jar), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", f"{registry}/{repo}:s390x", "--platform", "linux/s390x",
    )  # fmt: skip
    assert wrong.proc.returncode == 4
    assert "has no linux/s390x image (it has: linux/amd64, linux/arm64" in wrong.proc.stderr


def test_spring_boot_jar_gets_its_four_layers(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    tmp_path: Path,
) -> None:
    step = build_ok(
        env, tmp_path, "--jar", str(jars("hello-boot", "1.0.0")), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", f"{registry}/{repo}", "--coordinates", "com.example:hello-boot:1.0.0",
    )  # fmt: skip
    layout = tmp_path / "layout"
    manifest, config = copy_to_layout(authfile, step.outputs["image"], layout)
    base = base_manifests(authfile, registry)["linux/amd64"]
    ours = manifest["layers"][len(base["layers"]) :]
    assert len(ours) == 4
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    assert [h["created_by"] for h in config["history"][-4:]] == [
        f"rollway build-image: COPY {name}/ /app/"
        for name in ("dependencies", "spring-boot-loader", "snapshot-dependencies", "application")
    ]
    dependencies, loader, snapshots, application = (
        layer_files(_blob(layout, layer["digest"])) for layer in ours
    )
    assert dependencies and all(n.startswith("app/BOOT-INF/lib/") for n in dependencies)
    assert loader and all(n.startswith("app/org/") for n in loader)
    assert "app/org/springframework/boot/loader/launch/JarLauncher.class" in loader
    assert snapshots == []
    assert "app/BOOT-INF/layers.idx" in application
    assert "app/META-INF/MANIFEST.MF" in application
    assert any(n.startswith("app/BOOT-INF/classes/") for n in application)
    spec = config["config"]
    assert spec["Entrypoint"] == ["java", "org.springframework.boot.loader.launch.JarLauncher"]
    assert spec["WorkingDir"] == "/app"


@needs_unshare
@pytest.mark.parametrize("artifact", ["hello", "hello-boot"])
def test_the_image_runs(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    tmp_path: Path,
    artifact: str,
) -> None:
    """The app starts from the pushed image alone: its layers over the base's, as user 1000,
    with the config's entrypoint, environment and working directory."""
    step = build_ok(
        env, tmp_path, "--jar", str(jars(artifact, "1.0.0")), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", f"{registry}/{repo}:1",
    )  # fmt: skip
    layout = tmp_path / "layout"
    manifest, config = copy_to_layout(authfile, step.outputs["image"], layout)
    assert run_image(layout, manifest, config, tmp_path / "rootfs") == "hello 1.0.0"


def test_upgrade_pushes_only_the_application_layer(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    registry_log: Path,
    tmp_path: Path,
) -> None:
    target = f"{registry}/{repo}"
    old = build_ok(
        env, tmp_path, "--jar", str(jars("hello-boot", "1.0.0")), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", target, "--coordinates", "com.example:hello-boot:1.0.0",
    )  # fmt: skip
    log = RegistryLog(registry_log)
    new = build_ok(
        env, tmp_path, "--jar", str(jars("hello-boot", "1.1.0")), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", target, "--coordinates", "com.example:hello-boot:1.1.0",
    )  # fmt: skip
    _, before = raw_manifest(authfile, f"{target}:1.0.0")
    _, after = raw_manifest(authfile, f"{target}:1.1.0")
    assert after["layers"][:-1] == before["layers"][:-1]
    assert after["layers"][-1] != before["layers"][-1]
    changed = {after["layers"][-1]["digest"], after["config"]["digest"]}
    # Our counters and the registry's log agree: the application layer and the config, no more.
    assert new.outputs["blobs_uploaded"] == "2"
    assert sorted(log.uploads(repo)) == sorted(changed)
    assert log.mounts(repo) == []
    assert old.outputs["tag"] == "1.0.0" and new.outputs["tag"] == "1.1.0"


def test_docker_schema2_base_gives_a_docker_schema2_image(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    tmp_path: Path,
) -> None:
    docker_base = f"{registry}/{repo}-base:17-jre"
    skopeo(
        authfile, "copy", "--format", "v2s2", "--src-tls-verify=false", "--dest-tls-verify=false",
        f"docker://{registry}/{BASE_REPO}:17-jre-amd64", f"docker://{docker_base}",
    )  # fmt: skip
    _, base = raw_manifest(authfile, docker_base)
    assert base["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    step = build_ok(
        env, tmp_path, "--jar", str(jars("hello", "1.0.0")), "--base", docker_base,
        "--target", f"{registry}/{repo}:1",
    )  # fmt: skip
    _, manifest = raw_manifest(authfile, f"{registry}/{repo}:1")
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert (
        manifest["layers"][-1]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    )
    assert manifest["layers"][:-1] == base["layers"]
    copy_to_layout(authfile, step.outputs["image"], tmp_path / "layout")


@pytest.mark.parametrize("how", ["password-file", "docker-config"])
def test_mounted_credentials(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    tmp_path: Path,
    how: str,
) -> None:
    secret = {k: v for k, v in env.items() if not k.startswith("ROLLWAY_REGISTRY_")}
    secret |= {"ROLLWAY_REGISTRY": registry, "ROLLWAY_REGISTRY_URL": env["ROLLWAY_REGISTRY_URL"]}
    mounted = tmp_path / "secret"
    mounted.mkdir(mode=0o700)
    if how == "password-file":
        (mounted / "password").write_text(env["ROLLWAY_REGISTRY_PASSWORD"] + "\n")
        secret |= {
            "ROLLWAY_REGISTRY_USERNAME": env["ROLLWAY_REGISTRY_USERNAME"],
            "ROLLWAY_REGISTRY_PASSWORD_FILE": str(mounted / "password"),
        }
    else:  # a Harbor robot account's secret, mounted as a Docker config.json
        token = f"{env['ROLLWAY_REGISTRY_USERNAME']}:{env['ROLLWAY_REGISTRY_PASSWORD']}"
        auths = {"auths": {f"http://{registry}": {"auth": _b64(token)}}}
        (mounted / "config.json").write_text(json.dumps(auths))
        secret["DOCKER_CONFIG"] = str(mounted)
    step = build_ok(
        secret, tmp_path, "--jar", str(jars("hello", "1.0.0")), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", f"{registry}/{repo}:1",
    )  # fmt: skip
    assert step.outputs["pushed"] == "true"
    assert env["ROLLWAY_REGISTRY_PASSWORD"] not in step.out


def test_wrong_password_is_a_clear_error_and_tags_nothing(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    registry_log: Path,
    tmp_path: Path,
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    log = RegistryLog(registry_log)
    step = build(
        env, tmp_path, "--jar", str(jars("hello", "1.0.0")), "--base", env["ROLLWAY_BASE_IMAGE"],
        "--target", f"{registry}/{repo}:1", ROLLWAY_REGISTRY_PASSWORD=wrong,
    )  # fmt: skip
    assert step.proc.returncode == 3, step.out
    assert (
        f"registry {registry} refused the credentials from "
        "ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD"
    ) in step.proc.stderr
    assert wrong not in step.out
    assert env["ROLLWAY_REGISTRY_PASSWORD"] not in step.out
    assert "Traceback" not in step.out
    assert step.outputs == {}
    assert log.served("PUT", f"/v2/{repo}/") == []
    missing = skopeo(
        authfile,
        "inspect",
        "--raw",
        "--tls-verify=false",
        f"docker://{registry}/{repo}:1",
        check=False,
    )
    assert missing.returncode != 0


def test_missing_base_image_is_named(
    env: dict[str, str], registry: str, repo: str, jars: Callable[[str, str], Path], tmp_path: Path
) -> None:
    base = f"{registry}/library/no-such-base:17"
    step = build(
        env, tmp_path, "--jar", str(jars("hello", "1.0.0")), "--base", base,
        "--target", f"{registry}/{repo}:1",
    )  # fmt: skip
    assert step.proc.returncode == 4, step.out
    assert f"base: base image {base} not found" in step.proc.stderr
    assert "Traceback" not in step.out


def test_tag_is_not_written_when_a_blob_cannot_be_pushed(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    registry_log: Path,
    tmp_path: Path,
) -> None:
    """A base image whose manifest is intact but one of whose layers was deleted from the
    registry: the push fails midway, and the target tag must not exist afterwards."""
    broken_base = f"{registry}/{repo}-base:17-jre"
    skopeo(
        authfile, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
        f"docker://{registry}/{BASE_REPO}:17-jre-amd64", f"docker://{broken_base}",
    )  # fmt: skip
    _, base = raw_manifest(authfile, broken_base)
    lost = max(base["layers"], key=lambda layer: layer["size"])["digest"]
    auth = (env["ROLLWAY_REGISTRY_USERNAME"], env["ROLLWAY_REGISTRY_PASSWORD"])
    deleted = httpx.delete(f"{env['ROLLWAY_REGISTRY_URL']}/v2/{repo}-base/blobs/{lost}", auth=auth)
    assert deleted.status_code == 202, deleted.text

    log = RegistryLog(registry_log)
    step = build(
        env, tmp_path, "--jar", str(jars("hello", "1.0.0")), "--base", broken_base,
        "--target", f"{registry}/{repo}:1.0.0",
    )  # fmt: skip
    assert step.proc.returncode != 0, step.out
    assert f"blob {lost} is missing from {registry}/{repo}-base" in step.proc.stderr
    assert step.outputs == {}
    assert log.served("PUT", f"/v2/{repo}/manifests/") == []  # neither by digest nor by tag
    tags = skopeo(
        authfile, "list-tags", "--tls-verify=false", f"docker://{registry}/{repo}", check=False
    )
    assert tags.returncode != 0 or json.loads(tags.stdout)["Tags"] == []


def test_dropped_connection_is_retried(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    cutting_proxy: CuttingProxy,
    tmp_path: Path,
) -> None:
    via = cutting_proxy.address
    step = build_ok(
        {**env, "ROLLWAY_REGISTRY": via, "ROLLWAY_REGISTRY_URL": f"http://{via}"}, tmp_path,
        "--jar", str(jars("hello", "1.0.0")), "--base", f"{via}/{BASE_REPO}:17-jre",
        "--target", f"{via}/{repo}:1",
    )  # fmt: skip
    assert cutting_proxy.cuts >= 1
    cut = r"(PUT|PATCH) /v2/\S+/blobs/uploads/\S+ failed: .*(; retrying in|\); uploading it)"
    assert re.search(cut, step.proc.stderr), step.proc.stderr
    raw, _ = raw_manifest(authfile, f"{registry}/{repo}:1")
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == step.outputs["digest"]
    copy_to_layout(authfile, f"{registry}/{repo}:1", tmp_path / "layout")


def test_unreachable_registry_is_transient(
    env: dict[str, str], repo: str, jars: Callable[[str, str], Path]
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{sock.getsockname()[1]}"
    request = BuildRequest(
        jar=jars("hello", "1.0.0"),
        base=parse_reference(f"{nowhere}/{BASE_REPO}:17-jre", field="base"),
        target=parse_reference(f"{nowhere}/{repo}:1", field="target"),
    )
    with pytest.raises(TransientError, match="gave up after 3 attempts") as err:
        build_image(request, cache_dir=None, env={}, attempts=3, backoff=0.01)
    assert err.value.exit_code == 75


def test_bearer_token_auth_as_harbor_does_it(
    env: dict[str, str],
    repo: str,
    jars: Callable[[str, str], Path],
    token_registry: TokenRegistry,
    tmp_path: Path,
) -> None:
    reg = token_registry
    token_env = {
        **env,
        "ROLLWAY_REGISTRY": reg.address,
        "ROLLWAY_REGISTRY_URL": f"http://{reg.address}",
        "ROLLWAY_REGISTRY_USERNAME": reg.username,
        "ROLLWAY_REGISTRY_PASSWORD": reg.password,
    }
    args = (
        "--jar", str(jars("hello", "1.0.0")), "--base", f"{reg.address}/{BASE_REPO}:17-jre",
        "--target", f"{reg.address}/{repo}:1",
    )  # fmt: skip
    seen = len(reg.scopes_seen)
    step = build_ok(token_env, tmp_path, *args)
    assert step.outputs["pushed"] == "true"
    # One token, for pushing to the target and pulling (mounting) from the base repository.
    assert reg.scopes_seen[seen:] == [
        [f"repository:{repo}:pull,push", f"repository:{BASE_REPO}:pull"]
    ]
    mounts = RegistryLog(reg.log)
    mounts.offset = 0
    assert len(mounts.mounts(repo)) == 3  # the base layers, mounted under the token's scopes

    refused = build({**token_env, "ROLLWAY_REGISTRY_PASSWORD": "not-it"}, tmp_path, *args)
    assert refused.proc.returncode == 3, refused.out
    assert (
        f"registry {reg.address} (token service 127.0.0.1) refused the credentials"
        in refused.proc.stderr
    )
    assert "not-it" not in refused.out and reg.password not in refused.out


def test_base_in_another_registry_is_streamed_across(
    env: dict[str, str],
    registry: str,
    repo: str,
    jars: Callable[[str, str], Path],
    authfile: Path,
    registry_log: Path,
    token_registry: TokenRegistry,
    tmp_path: Path,
) -> None:
    """No mount across registries: base layers are copied, chunk by chunk, from the token
    registry (credentials from a mounted Docker config) into the devstack registry."""
    source = token_registry
    config = tmp_path / "docker-config"
    config.mkdir()
    auth = _b64(f"{source.username}:{source.password}")
    (config / "config.json").write_text(json.dumps({"auths": {source.address: {"auth": auth}}}))
    log = RegistryLog(registry_log)
    step = build_ok(
        {**env, "DOCKER_CONFIG": str(config)}, tmp_path,
        "--jar", str(jars("hello", "1.0.0")), "--base", f"{source.address}/{BASE_REPO}:17-jre",
        "--target", f"{registry}/{repo}:1",
    )  # fmt: skip
    _, manifest = raw_manifest(authfile, f"{registry}/{repo}:1")
    base = base_manifests(authfile, registry)["linux/amd64"]
    assert manifest["layers"][:-1] == base["layers"]
    assert log.mounts(repo) == []
    assert sorted(log.uploads(repo)) == sorted(
        [*(layer["digest"] for layer in manifest["layers"]), manifest["config"]["digest"]]
    )
    assert (
        int(step.outputs["bytes_uploaded"])
        == sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]
    )
    copy_to_layout(authfile, f"{registry}/{repo}:1", tmp_path / "layout")
