"""Fixtures: a plain jar and a Spring Boot layered jar in the test's temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from .jars import boot_files, make_jar


@pytest.fixture
def plain_jar(tmp_path: Path) -> Path:
    return make_jar(
        tmp_path / "hello.jar",
        {"META-INF/MANIFEST.MF": b"Main-Class: com.example.hello.Main\n", "com/x.class": b"x"},
    )


@pytest.fixture
def boot_jar(tmp_path: Path) -> Path:
    return make_jar(tmp_path / "boot.jar", boot_files("1.0.0"))
