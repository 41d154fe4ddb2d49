"""The new image's config and manifest, derived from the base's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rollway.errors import UpstreamError
from rollway.image import Layer
from rollway.image.config import (
    CREATED,
    RunSpec,
    check_base,
    descriptor,
    encode,
    image_config,
    image_manifest,
    merge_env,
    provenance,
)
from rollway.image.media import DOCKER, DOCKER_LAYER, OCI, OCI_LAYER

BASE: dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "created": "2024-05-01T10:00:00Z",
    "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD jshell"]},
    "config": {
        "Env": ["PATH=/opt/java/openjdk/bin:/usr/bin", "JAVA_HOME=/opt/java/openjdk", "LANG=C"],
        "Cmd": ["jshell"],
        "ExposedPorts": {"9000/tcp": {}},
        "Labels": {"org.opencontainers.image.description": "JRE"},
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:b1", "sha256:b2"]},
    "history": [{"created_by": "base 1"}, {"created_by": "base 2"}],
}
LAYER = Layer("sha256:gz", "sha256:tar", 123, Path("/nowhere"))
RUN = RunSpec(
    entrypoint=("java", "-jar", "/app/app.jar"),
    working_dir="/app",
    env={"LANG": "C.UTF-8", "SPRING_PROFILES_ACTIVE": "prod"},
    port=8080,
    labels={"team": "orders"},
)


def test_config_appends_layers_and_applies_the_run_spec() -> None:
    doc = image_config(BASE, [(LAYER, "COPY app.jar /app/app.jar")], RUN)
    config = doc["config"]
    assert config["Entrypoint"] == ["java", "-jar", "/app/app.jar"]
    assert "Cmd" not in config  # the base's `jshell` must not become the app's argument
    assert config["WorkingDir"] == "/app"
    assert config["Env"] == [
        "PATH=/opt/java/openjdk/bin:/usr/bin",
        "JAVA_HOME=/opt/java/openjdk",
        "LANG=C.UTF-8",
        "SPRING_PROFILES_ACTIVE=prod",
    ]
    assert config["ExposedPorts"] == {"9000/tcp": {}, "8080/tcp": {}}
    assert config["User"] == "1000"
    assert config["Labels"] == {"org.opencontainers.image.description": "JRE", "team": "orders"}
    assert doc["rootfs"]["diff_ids"] == ["sha256:b1", "sha256:b2", "sha256:tar"]
    assert doc["history"][-1] == {
        "created": CREATED,
        "created_by": "rollway build-image: COPY app.jar /app/app.jar",
    }
    assert doc["created"] == CREATED  # no wall clock
    assert "container_config" not in doc
    assert BASE["config"]["Cmd"] == ["jshell"]  # the base document is left alone


@pytest.mark.parametrize(
    ("base_user", "user"),
    [("", "1000"), ("0", "1000"), ("root", "1000"), ("app", "app"), ("1001:1001", "1001:1001")],
)
def test_never_runs_as_root(base_user: str, user: str) -> None:
    base = {**BASE, "config": {**BASE["config"], "User": base_user}}
    assert image_config(base, [], RUN)["config"]["User"] == user


def test_env_lines_without_value_are_kept() -> None:
    assert merge_env(["A", "B=1"], {"C": "2"}) == ["A=", "B=1", "C=2"]


def test_manifest_keeps_the_base_format_and_descriptors() -> None:
    base_layers = [{"mediaType": DOCKER_LAYER, "digest": "sha256:l1", "size": 1, "urls": ["x"]}]
    config = descriptor(DOCKER.config, "sha256:c", 10)
    docker = image_manifest(DOCKER, config, base_layers, [LAYER], {"a": "b"})
    assert docker["mediaType"] == DOCKER.manifest
    assert docker["layers"] == [
        *base_layers,
        {"mediaType": DOCKER_LAYER, "digest": "sha256:gz", "size": 123},
    ]
    assert "annotations" not in docker  # schema 2 has none
    oci = image_manifest(OCI, config, [], [LAYER], {"a": "b"})
    assert oci["layers"][0]["mediaType"] == OCI_LAYER
    assert oci["annotations"] == {"a": "b"}


def test_encoding_is_canonical() -> None:
    assert encode({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'
    assert json.loads(encode(BASE)) == BASE


def test_provenance() -> None:
    labels = provenance(
        jar_sha256="ab" * 32,
        base_name="reg/library/temurin:17",
        base_digest="sha256:base",
        coordinates="com.example:hello:1.0.0",
    )
    assert labels == {
        "io.rollway.jar-sha256": "ab" * 32,
        "io.rollway.artifact": "com.example:hello:1.0.0",
        "org.opencontainers.image.base.name": "reg/library/temurin:17",
        "org.opencontainers.image.base.digest": "sha256:base",
        "org.opencontainers.image.title": "hello",
        "org.opencontainers.image.version": "1.0.0",
    }
    assert "io.rollway.artifact" not in provenance(
        jar_sha256="", base_name="", base_digest="", coordinates=None
    )


def test_base_whose_layers_and_diff_ids_disagree_is_refused() -> None:
    with pytest.raises(UpstreamError, match="2 layers but its config 1 diff_ids"):
        check_base({"layers": [{}, {}]}, {"rootfs": {"diff_ids": ["x"]}}, "reg/base:1")
