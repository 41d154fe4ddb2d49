"""`rollway-step resolve-artifact` against the devstack's Maven repository (Nexus layout).

What the repository holds is devstack/sample_jars.CATALOGUE: com.example:hello 1.0.0 and 1.1.0
in maven-releases, and two builds of 1.2.0-SNAPSHOT in maven-snapshots (the second on
2026-01-14 10:30). Checksums are compared with the files the repository publishes, fetched here
with a plain HTTP client.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import Context
from rollway.errors import InvalidInput, NotFound, UpstreamError
from tests.support.step_runner import Quiet, StepRun, invoke, run

pytestmark = pytest.mark.integration

SNAPSHOT_BUILD_2 = "1.2.0-20260114.103000-2"


@pytest.fixture(scope="module")
def env(devstack_env: dict[str, str]) -> Quiet:
    return Quiet(devstack_env)


@pytest.fixture(scope="module")
def releases(env: Quiet) -> Iterator[httpx.Client]:
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    with httpx.Client(base_url=env["ROLLWAY_MAVEN_URL"] + "/", auth=auth, timeout=30) as client:
        yield client


def resolve(env: Quiet, tmp_path: Path, coordinates: str, *extra: str) -> StepRun:
    return invoke(
        env,
        tmp_path / "outputs",
        "resolve-artifact",
        "--coordinates",
        coordinates,
        "--download-dir",
        str(tmp_path / "artifacts"),
        *extra,
    )


def files_in(directory: Path) -> list[str]:
    """Every file there, hidden temporaries included."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_a_fixed_version_is_downloaded_and_verified(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:hello:1.0.0")
    assert result.exit_code == 0, result.stderr or result.exception
    out = result.outputs
    jar = Path(out["path"])
    assert jar == (tmp_path / "artifacts" / "hello-1.0.0.jar").resolve()
    assert (out["version"], out["base-version"]) == ("1.0.0", "1.0.0")
    assert out["coordinates"] == "com.example:hello:1.0.0"
    assert out["url"] == env["ROLLWAY_MAVEN_URL"] + "/com/example/hello/1.0.0/hello-1.0.0.jar"
    assert out["sha256"] == hashlib.sha256(jar.read_bytes()).hexdigest()
    assert out["size"] == str(jar.stat().st_size)
    assert out["verified-with"] == "sha256"
    published = httpx.get(
        out["url"] + ".sha256", auth=(env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    )
    assert out["sha256"] == published.text.strip()
    assert files_in(tmp_path / "artifacts") == ["hello-1.0.0.jar"]


@pytest.mark.parametrize("coordinates", ["com.example:hello", "com.example:hello:RELEASE"])
def test_release_is_the_newest_release_and_the_default(
    env: Quiet, tmp_path: Path, coordinates: str
) -> None:
    result = resolve(env, tmp_path, coordinates)
    assert result.exit_code == 0, result.stderr or result.exception
    assert result.outputs["version"] == "1.1.0"
    assert Path(result.outputs["path"]).name == "hello-1.1.0.jar"


def test_latest_is_the_newest_deploy_of_either_repository(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:hello:LATEST")
    assert result.exit_code == 0, result.stderr or result.exception
    assert result.outputs["version"] == SNAPSHOT_BUILD_2
    assert result.outputs["base-version"] == "1.2.0-SNAPSHOT"


def test_a_snapshot_resolves_to_its_newest_timestamped_build(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:hello:1.2.0-SNAPSHOT")
    assert result.exit_code == 0, result.stderr or result.exception
    out = result.outputs
    assert (out["version"], out["base-version"]) == (SNAPSHOT_BUILD_2, "1.2.0-SNAPSHOT")
    assert out["coordinates"] == f"com.example:hello:{SNAPSHOT_BUILD_2}"
    assert out["url"] == (
        f"{env['ROLLWAY_MAVEN_SNAPSHOTS_URL']}/com/example/hello/1.2.0-SNAPSHOT/"
        f"hello-{SNAPSHOT_BUILD_2}.jar"
    )
    jar = Path(out["path"])
    assert out["sha256"] == hashlib.sha256(jar.read_bytes()).hexdigest()


def test_an_exact_snapshot_build_resolves_to_itself(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:hello:1.2.0-20260113.100000-1")
    assert result.exit_code == 0, result.stderr or result.exception
    assert result.outputs["version"] == "1.2.0-20260113.100000-1"
    assert result.outputs["base-version"] == "1.2.0-SNAPSHOT"


def test_a_missing_version_lists_the_available_ones(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:hello:9.9.9")
    assert isinstance(result.exception, NotFound)
    assert result.exception.field == "coordinates"
    assert "version 9.9.9 of com.example:hello not found" in result.exception.message
    assert result.exception.message.endswith("available: 1.0.0, 1.0.1, 1.1.0, 1.2.0-SNAPSHOT")
    assert files_in(tmp_path / "artifacts") == []
    assert result.outputs == {}


def test_a_missing_artifact_names_the_repositories_asked(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:no-such-artifact:1.0")
    assert isinstance(result.exception, NotFound)
    assert "com.example:no-such-artifact is in none of the repositories" in str(result.exception)
    assert env["ROLLWAY_MAVEN_URL"] in str(result.exception)


def test_malformed_coordinates_fail_before_any_request(env: Quiet, tmp_path: Path) -> None:
    result = resolve(env, tmp_path, "com.example:hel lo:1.0")
    assert isinstance(result.exception, InvalidInput)
    assert "artifactId 'hel lo'" in str(result.exception)


def test_a_wrong_password_is_refused_without_showing_it(env: Quiet, tmp_path: Path) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    result = run(
        Quiet(env, ROLLWAY_MAVEN_PASSWORD=wrong),
        tmp_path / "outputs",
        "resolve-artifact",
        "--coordinates",
        "com.example:hello:1.0.0",
        "--download-dir",
        str(tmp_path / "artifacts"),
    )
    assert result.exit_code == 1
    assert "Maven repository refused the credentials (HTTP 401)" in result.stderr
    assert "hint: set ROLLWAY_MAVEN_USERNAME and ROLLWAY_MAVEN_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr
    for secret in (wrong, env["ROLLWAY_MAVEN_PASSWORD"]):
        assert secret not in result.stderr + result.stdout
    assert files_in(tmp_path / "artifacts") == []


def test_the_password_may_come_from_a_mounted_file(env: Quiet, tmp_path: Path) -> None:
    secret_file = tmp_path / "maven-password"
    secret_file.write_text(env["ROLLWAY_MAVEN_PASSWORD"] + "\n")
    mounted = Quiet({k: v for k, v in env.items() if k != "ROLLWAY_MAVEN_PASSWORD"})
    mounted["ROLLWAY_MAVEN_PASSWORD_FILE"] = str(secret_file)
    result = resolve(mounted, tmp_path, "com.example:hello:1.0.0")
    assert result.exit_code == 0, result.stderr or result.exception


def test_an_unreachable_repository_exits_75_to_be_retried(env: Quiet, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    repository = f"http://127.0.0.1:{port}/repository/maven-releases"
    result = run(
        Quiet({**env, "ROLLWAY_MAVEN_URL": repository}),  # the configured repository is down
        tmp_path / "outputs",
        "resolve-artifact",
        "--coordinates",
        "com.example:hello:1.0.0",
        "--repository",
        repository,
        "--download-dir",
        str(tmp_path / "artifacts"),
    )
    assert result.exit_code == 75, result.stderr
    assert f"Maven repository unreachable at http://127.0.0.1:{port}/" in result.stderr


# -- artifacts published by the tests, through the repository's authenticated PUT -------------


@pytest.fixture
def publish(devstack: Context) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A fresh com.example.rollwaytest:<artifact>:1.0.0 to publish files of; removed afterwards."""
    artifact = f"probe-{uuid.uuid4().hex[:12]}"
    files: dict[str, bytes] = {}
    yield artifact, files
    served = devstack.paths.work / "maven" / "maven-releases" / "com/example/rollwaytest"
    shutil.rmtree(served / artifact, ignore_errors=True)


def put(releases: httpx.Client, artifact: str, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        path = f"com/example/rollwaytest/{artifact}/1.0.0/{artifact}-1.0.0.{name}"
        assert releases.put(path, content=body).status_code == 201


JAR = b"PK\x03\x04 not really a jar, but bytes with a digest" * 100


def test_a_checksum_mismatch_fails_and_leaves_nothing(
    env: Quiet, tmp_path: Path, releases: httpx.Client, publish: tuple[str, dict[str, bytes]]
) -> None:
    artifact, files = publish
    wrong = hashlib.sha256(b"some other jar").hexdigest()
    files.update({"jar": JAR, "jar.sha256": wrong.encode()})
    put(releases, artifact, files)
    result = resolve(env, tmp_path, f"com.example.rollwaytest:{artifact}:1.0.0")
    assert isinstance(result.exception, UpstreamError)
    message = str(result.exception)
    assert f"sha256 of the download is {hashlib.sha256(JAR).hexdigest()}" in message
    assert f"the repository publishes {wrong}; the download was discarded" in message
    assert files_in(tmp_path / "artifacts") == []  # not even a hidden partial file
    assert result.outputs == {}


def test_only_sha1_published_is_verified_with_sha1(
    env: Quiet, tmp_path: Path, releases: httpx.Client, publish: tuple[str, dict[str, bytes]]
) -> None:
    artifact, files = publish
    files.update({"jar": JAR, "jar.sha1": hashlib.sha1(JAR).hexdigest().encode()})
    put(releases, artifact, files)
    result = resolve(env, tmp_path, f"com.example.rollwaytest:{artifact}:1.0.0")
    assert result.exit_code == 0, result.stderr or result.exception
    assert result.outputs["verified-with"] == "sha1"
    assert result.outputs["sha256"] == hashlib.sha256(JAR).hexdigest()


def test_no_published_checksum_refuses_the_download(
    env: Quiet, tmp_path: Path, releases: httpx.Client, publish: tuple[str, dict[str, bytes]]
) -> None:
    artifact, files = publish
    files.update({"jar": JAR, "jar.md5": hashlib.md5(JAR).hexdigest().encode()})
    put(releases, artifact, files)
    result = resolve(env, tmp_path, f"com.example.rollwaytest:{artifact}:1.0.0")
    assert isinstance(result.exception, UpstreamError)
    assert "no .sha256, .sha512 or .sha1 checksum is published" in str(result.exception)
    assert files_in(tmp_path / "artifacts") == []


def test_the_console_script_prints_the_outputs_as_json(env: Quiet, tmp_path: Path) -> None:
    result = run(
        env,
        tmp_path / "outputs",
        "resolve-artifact",
        "--coordinates",
        "com.example:hello:1.2.0-SNAPSHOT",
        "--download-dir",
        str(tmp_path / "artifacts"),
    )
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == result.outputs
    assert printed["version"] == SNAPSHOT_BUILD_2
