"""The Maven repository standing in for Nexus: auth, checksums, metadata, uploads, runnable jars."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import shutil
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import pytest

from devstack.components.maven import MavenRepository
from devstack.stack import Context
from tests.support.helpers import free_port

pytestmark = pytest.mark.integration

HELLO = "com/example/hello"
SNAPSHOT = f"{HELLO}/1.2.0-SNAPSHOT"
SNAPSHOT_BUILD_1 = "hello-1.2.0-20260113.100000-1.jar"


@pytest.fixture(scope="module")
def env(devstack: Context) -> dict[str, str]:
    return MavenRepository().exports(devstack)


@pytest.fixture
def releases(env: dict[str, str]) -> Iterator[httpx.Client]:
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    with httpx.Client(base_url=env["ROLLWAY_MAVEN_URL"] + "/", auth=auth, timeout=60) as c:
        yield c


@pytest.fixture
def snapshots(env: dict[str, str]) -> Iterator[httpx.Client]:
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    with httpx.Client(
        base_url=env["ROLLWAY_MAVEN_SNAPSHOTS_URL"] + "/", auth=auth, timeout=60
    ) as c:
        yield c


def metadata(client: httpx.Client, path: str) -> ElementTree.Element:
    resp = client.get(f"{path}/maven-metadata.xml")
    assert resp.status_code == 200, resp.text
    return ElementTree.fromstring(resp.content)


def download(client: httpx.Client, path: str, dest: Path) -> Path:
    with client.stream("GET", path) as resp:
        assert resp.status_code == 200
        with dest.open("wb") as out:
            for chunk in resp.iter_bytes():
                out.write(chunk)
    return dest


def serve_jar(jar: Path, log: Path, timeout: float = 90.0) -> str:
    """Run `java -jar` on a free port and return what GET / answers, then stop it."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["java", "-jar", str(jar)],
            env={**os.environ, "PORT": str(port)},
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"java -jar {jar.name} exited: {log.read_text()}"
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            assert resp.status_code == 200
            health = httpx.get(f"http://127.0.0.1:{port}/actuator/health/readiness", timeout=2)
            assert health.json() == {"status": "UP"}
            return resp.text
        pytest.fail(f"java -jar {jar.name} not answering after {timeout:.0f}s: {log.read_text()}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_jar_downloads_with_checksums_matching_the_published_ones(releases: httpx.Client) -> None:
    path = f"{HELLO}/1.1.0/hello-1.1.0.jar"
    jar = releases.get(path)
    assert jar.status_code == 200
    assert jar.headers["content-type"] == "application/java-archive"
    assert zipfile.is_zipfile(io.BytesIO(jar.content))
    for algo in ("md5", "sha1", "sha256", "sha512"):
        published = releases.get(f"{path}.{algo}")
        assert published.status_code == 200
        assert published.text == hashlib.new(algo, jar.content).hexdigest(), algo


def test_metadata_has_checksums_too(releases: httpx.Client) -> None:
    data = releases.get(f"{HELLO}/maven-metadata.xml").content
    assert releases.get(f"{HELLO}/maven-metadata.xml.sha1").text == hashlib.sha1(data).hexdigest()


@pytest.mark.parametrize("auth", [None, ("deployer", "wrong"), ("someone", "wrong")])
def test_requests_without_valid_credentials_are_refused(
    env: dict[str, str], auth: tuple[str, str] | None
) -> None:
    resp = httpx.get(f"{env['ROLLWAY_MAVEN_URL']}/{HELLO}/maven-metadata.xml", auth=auth)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].lower().startswith("basic realm=")
    put = httpx.put(f"{env['ROLLWAY_MAVEN_URL']}/com/example/x/1/x-1.jar", content=b"x", auth=auth)
    assert put.status_code == 401


def test_release_metadata_lists_every_version(releases: httpx.Client) -> None:
    meta = metadata(releases, HELLO)
    assert meta.findtext("groupId") == "com.example"
    assert meta.findtext("artifactId") == "hello"
    versions = [v.text for v in meta.iterfind("versioning/versions/version")]
    assert versions == ["1.0.0", "1.0.1", "1.1.0"]
    # 1.0.1, the bad build, was deployed before 1.1.0: the newest release stays 1.1.0.
    assert meta.findtext("versioning/release") == "1.1.0"
    assert meta.findtext("versioning/latest") == "1.1.0"
    assert len(meta.findtext("versioning/lastUpdated") or "") == 14
    for version in versions:
        assert releases.head(f"{HELLO}/{version}/hello-{version}.pom").status_code == 200


def test_snapshot_metadata_names_build_two(snapshots: httpx.Client) -> None:
    meta = metadata(snapshots, SNAPSHOT)
    assert meta.get("modelVersion") == "1.1.0"
    assert meta.findtext("version") == "1.2.0-SNAPSHOT"
    timestamp = meta.findtext("versioning/snapshot/timestamp")
    assert meta.findtext("versioning/snapshot/buildNumber") == "2"
    values = {
        sv.findtext("extension"): sv.findtext("value")
        for sv in meta.iterfind("versioning/snapshotVersions/snapshotVersion")
    }
    assert values == {"jar": f"1.2.0-{timestamp}-2", "pom": f"1.2.0-{timestamp}-2"}
    latest = snapshots.get(f"{SNAPSHOT}/hello-{values['jar']}.jar")
    assert latest.status_code == 200
    earlier = snapshots.get(f"{SNAPSHOT}/{SNAPSHOT_BUILD_1}")
    assert earlier.status_code == 200
    assert earlier.content != latest.content
    assert metadata(snapshots, HELLO).findtext("versioning/versions/version") == "1.2.0-SNAPSHOT"


def test_head_gives_content_length_without_a_body(releases: httpx.Client) -> None:
    path = "com/example/hello-fat/1.0.0/hello-fat-1.0.0.jar"
    head = releases.head(path)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) > 55 * 2**20
    assert head.content == b""
    assert releases.head(f"{HELLO}/9.9.9/hello-9.9.9.jar").status_code == 404
    assert releases.get(f"{HELLO}/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/repository/maven-releases/../../secrets.json",
        "/repository/maven-releases/%2e%2e/%2e%2e/secrets.json",
        "/repository/maven-releases/com/..%2f..%2f..%2fsecrets.json",
        "/repository/maven-snapshots/..%5c..%5csecrets.json",
    ],
)
def test_path_traversal_is_refused(env: dict[str, str], path: str) -> None:
    url = urlsplit(env["ROLLWAY_MAVEN_URL"])
    token = f"{env['ROLLWAY_MAVEN_USERNAME']}:{env['ROLLWAY_MAVEN_PASSWORD']}".encode()
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:  # http.client sends the path as written; httpx would normalise the dots away
        conn.request(
            "GET", path, headers={"Authorization": f"Basic {base64.b64encode(token).decode()}"}
        )
        resp = conn.getresponse()
        body = resp.read().decode()
    finally:
        conn.close()
    assert resp.status == 400
    assert env["ROLLWAY_MAVEN_PASSWORD"] not in body


def test_put_stores_once_like_nexus_releases(devstack: Context, releases: httpx.Client) -> None:
    artifact = f"put-probe-{uuid.uuid4().hex[:12]}"
    folder = f"com/example/{artifact}"
    jar = f"{folder}/1.0.0/{artifact}-1.0.0.jar"
    try:
        assert releases.put(jar, content=b"first").status_code == 201
        assert releases.get(jar).content == b"first"
        assert releases.put(jar, content=b"second").status_code == 400  # releases allow one deploy
        assert releases.get(jar).content == b"first"
        for body in (b"<metadata>1</metadata>", b"<metadata>2</metadata>"):
            assert releases.put(f"{folder}/maven-metadata.xml", content=body).status_code == 201
        assert releases.get(f"{folder}/maven-metadata.xml").content == b"<metadata>2</metadata>"
    finally:
        shutil.rmtree(devstack.paths.work / "maven" / "maven-releases" / folder, ignore_errors=True)


def test_hello_jar_runs(releases: httpx.Client, tmp_path: Path) -> None:
    jar = download(releases, f"{HELLO}/1.1.0/hello-1.1.0.jar", tmp_path / "hello.jar")
    assert serve_jar(jar, tmp_path / "hello.log") == "hello 1.1.0"


@pytest.mark.parametrize(("version", "bad"), [("1.1.0", False), ("1.0.1", True)])
def test_hello_counts_its_answers_and_the_bad_build_fails_a_share(
    releases: httpx.Client, tmp_path: Path, version: str, bad: bool
) -> None:
    jar = download(releases, f"{HELLO}/{version}/hello-{version}.jar", tmp_path / "hello.jar")
    port = free_port()
    with (tmp_path / "hello.log").open("wb") as out:
        proc = subprocess.Popen(["java", "-jar", str(jar)], env={**os.environ, "PORT": str(port)},
                                stdout=out, stderr=out)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/actuator/health", proc)
        codes = [httpx.get(f"{base}/", timeout=5).status_code for _ in range(200)]
        exposed = httpx.get(f"{base}/metrics", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    failed = codes.count(500)
    assert failed + codes.count(200) == len(codes)
    # 1.0.1 fails a fifth of its requests: 40 expected, outside [10, 80] only ~6 sigma away.
    assert (10 <= failed <= 80) if bad else failed == 0
    assert exposed.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = exposed.text.splitlines()
    assert f'http_server_requests_total{{code="200"}} {codes.count(200)}' in lines
    assert (f'http_server_requests_total{{code="500"}} {failed}' in lines) == bad
    assert f"http_server_request_duration_seconds_count {len(codes)}" in lines
    fast = next(
        ln
        for ln in lines
        if ln.startswith('http_server_request_duration_seconds_bucket{le="0.025"}')
    )
    # Every answer of the bad build waits 40 ms first; the good one answers well under 25 ms.
    assert (int(fast.rsplit(" ", 1)[1]) == 0) if bad else int(fast.rsplit(" ", 1)[1]) > 0


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "java -jar exited"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} not answering after {timeout:.0f}s")


def test_boot_jar_runs(releases: httpx.Client, tmp_path: Path) -> None:
    path = "com/example/hello-boot/1.1.0/hello-boot-1.1.0.jar"
    jar = download(releases, path, tmp_path / "hello-boot.jar")
    with zipfile.ZipFile(jar) as zf:
        manifest = zf.read("META-INF/MANIFEST.MF").decode()
        nested = [
            i for i in zf.infolist() if i.filename.startswith("BOOT-INF/lib/") and not i.is_dir()
        ]
    assert "Main-Class: org.springframework.boot.loader.launch.JarLauncher" in manifest
    assert "Start-Class: com.example.hello.Main" in manifest
    assert nested and all(i.compress_type == zipfile.ZIP_STORED for i in nested)
    assert serve_jar(jar, tmp_path / "hello-boot.log") == "hello 1.1.0"


def _layers(jar: Path) -> dict[str, dict[str, int]]:
    """Entry name -> CRC, grouped by the layer that BOOT-INF/layers.idx assigns it to."""
    with zipfile.ZipFile(jar) as zf:
        index: list[tuple[str, str]] = []
        layers: dict[str, dict[str, int]] = {}
        for line in zf.read("BOOT-INF/layers.idx").decode().splitlines():
            if line.startswith("- "):  # - "layer":
                layers[line[3:-2]] = {}
            else:  #   - "prefix"
                index.append((line.strip()[3:-1], list(layers)[-1]))
        for info in zf.infolist():
            if info.is_dir():  # directories belong to no layer; extraction recreates them
                continue
            owner = next(name for prefix, name in index if info.filename.startswith(prefix))
            layers[owner][info.filename] = info.CRC
    return layers


def test_boot_versions_differ_only_in_the_application_layer(
    releases: httpx.Client, tmp_path: Path
) -> None:
    old, new = (
        _layers(download(releases, f"com/example/hello-boot/{v}/hello-boot-{v}.jar", tmp_path / v))
        for v in ("1.0.0", "1.1.0")
    )
    assert list(new) == [
        "dependencies",
        "spring-boot-loader",
        "snapshot-dependencies",
        "application",
    ]
    for layer in ("dependencies", "spring-boot-loader", "snapshot-dependencies"):
        assert old[layer] == new[layer], layer
    assert old["application"] != new["application"]
    assert "BOOT-INF/lib/slf4j-api-2.0.16.jar" in new["dependencies"]


def test_fat_versions_share_their_data_and_run(releases: httpx.Client, tmp_path: Path) -> None:
    entries = []
    for version in ("1.0.0", "1.0.1"):
        path = f"com/example/hello-fat/{version}/hello-fat-{version}.jar"
        with zipfile.ZipFile(download(releases, path, tmp_path / f"{version}.jar")) as zf:
            entries.append({i.filename: i.CRC for i in zf.infolist()})
    old, new = entries
    data = {name for name in new if name.startswith("lib-data/") and not name.endswith("/")}
    assert len(data) >= 20
    assert {n: old[n] for n in data} == {n: new[n] for n in data}
    assert old["com/example/hello/Main.class"] != new["com/example/hello/Main.class"]
    assert serve_jar(tmp_path / "1.0.1.jar", tmp_path / "fat.log") == "hello 1.0.1"
