"""What the builder decides before talking to any registry."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import pytest

from rollway.errors import InvalidInput
from rollway.image import BuildRequest, build_image, parse_reference

BASE = parse_reference("reg.example.com/library/temurin:17", field="base")


def _request(
    target: str, coordinates: str | None = None, jar: Path = Path("app.jar")
) -> BuildRequest:
    return BuildRequest(jar, BASE, parse_reference(target, field="target"), coordinates=coordinates)


@pytest.mark.parametrize(
    ("target", "coordinates", "tag"),
    [
        ("reg.example.com/apps/hello:stable", "com.example:hello:1.0.0", "stable"),
        ("reg.example.com/apps/hello", "com.example:hello:1.0.0", "1.0.0"),
        ("reg.example.com/apps/hello", None, "latest"),
    ],
)
def test_tag_defaults_to_the_jar_version(target: str, coordinates: str | None, tag: str) -> None:
    assert _request(target, coordinates).tag == tag


def test_a_version_that_is_no_tag_is_refused_before_any_work(tmp_path: Path) -> None:
    request = _request(
        "reg.example.com/apps/hello", "com.example:hello:1.0+build.5", tmp_path / "none.jar"
    )
    with pytest.raises(InvalidInput) as err:
        build_image(request, cache_dir=None, env={})
    assert err.value.field == "coordinates"


def test_a_digest_target_is_refused(tmp_path: Path) -> None:
    request = _request(f"reg.example.com/apps/hello@sha256:{'a' * 64}", jar=tmp_path / "none.jar")
    with pytest.raises(InvalidInput) as err:
        build_image(request, cache_dir=None, env={})
    assert err.value.field == "target"


def _expecting(tmp_path: Path, jar_sha256: str) -> BuildRequest:
    """A request for a jar that exists, naming the sha256 it must have."""
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"not the expected bytes")
    target = parse_reference("reg.example.com/apps/hello", field="target")
    return BuildRequest(jar, BASE, target, jar_sha256=jar_sha256)


def test_the_jar_must_match_its_sha256(tmp_path: Path) -> None:
    request = _expecting(tmp_path, "0" * 64)
    with pytest.raises(InvalidInput) as err:
        build_image(request, cache_dir=None, env={})
    assert err.value.field == "jar-sha256"


def test_a_hash_begun_by_the_caller_is_the_one_checked(tmp_path: Path) -> None:
    """The step hashes the jar from its first moment; the build checks that hash, not its own."""
    hashed: concurrent.futures.Future[str] = concurrent.futures.Future()
    hashed.set_result("1" * 64)
    request = _expecting(tmp_path, "2" * 64)
    with pytest.raises(InvalidInput) as err:
        build_image(request, cache_dir=None, env={}, hashed=hashed)
    assert err.value.field == "jar-sha256" and "has sha256 " + "1" * 64 in err.value.message
