"""Image references as Docker and Harbor spell them."""

from __future__ import annotations

import pytest

from rollway.errors import InvalidInput
from rollway.image import Platform, parse_reference
from rollway.image.platform import select


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        (
            "127.0.0.1:25000/library/eclipse-temurin:17-jre",
            "127.0.0.1:25000",
            "library/eclipse-temurin",
            "17-jre",
            None,
        ),
        ("harbor.example.com/apps/orders", "harbor.example.com", "apps/orders", None, None),
        ("localhost/app:1", "localhost", "app", "1", None),
        ("eclipse-temurin:17", "docker.io", "library/eclipse-temurin", "17", None),
        ("apps/orders:1.4.2", "docker.io", "apps/orders", "1.4.2", None),
        (f"reg:5000/a/b@sha256:{'a' * 64}", "reg:5000", "a/b", None, f"sha256:{'a' * 64}"),
        (f"reg:5000/a/b:t@sha256:{'b' * 64}", "reg:5000", "a/b", "t", f"sha256:{'b' * 64}"),
    ],
)
def test_parse(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text, field="base")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ref.ref == (digest or tag or "latest")


def test_default_registry_is_rollways_own() -> None:
    ref = parse_reference("apps/hello:1.0.0", field="target", default_registry="127.0.0.1:25000")
    assert str(ref) == "127.0.0.1:25000/apps/hello:1.0.0"


def test_docker_hub_answers_on_its_api_host() -> None:
    assert parse_reference("alpine", field="base").api_host == "registry-1.docker.io"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("reg:5000/Apps/Hello:1", "lowercase"),
        ("reg:5000/apps/hello:bad tag", "tag"),
        ("reg:5000/apps/hello@sha256:xyz", "digest"),
        ("reg:5000/apps//hello", "lowercase"),
        ("reg:5000/" + "a" * 256, "255"),
    ],
)
def test_bad_references_name_the_field(text: str, why: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_reference(text, field="target")
    assert err.value.field == "target"
    assert why in err.value.message


INDEX = [
    {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
    {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
]


@pytest.mark.parametrize(
    ("wanted", "digest"),
    [
        ("linux/amd64", "sha256:amd"),
        ("linux/arm64", "sha256:arm"),
        ("linux/arm64/v8", "sha256:arm"),
    ],
)
def test_select_platform(wanted: str, digest: str) -> None:
    assert select(INDEX, Platform.parse(wanted), "base")["digest"] == digest


def test_missing_platform_lists_what_the_image_has() -> None:
    with pytest.raises(Exception) as err:
        select(INDEX, Platform.parse("linux/s390x"), "reg/base:1")
    assert "reg/base:1 has no linux/s390x image" in str(err.value)
    assert "linux/amd64, linux/arm64/v8" in str(err.value)


def test_arm64_without_variant_in_the_index_is_v8() -> None:
    plain = [{"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}}]
    assert select(plain, Platform.parse("linux/arm64/v8"), "base")["digest"] == "sha256:arm"


@pytest.mark.parametrize("text", ["linux", "linux/", "a/b/c/d", ""])
def test_bad_platform(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Platform.parse(text)
    assert err.value.field == "platform"
