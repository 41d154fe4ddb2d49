"""How a jar is laid out in the image: one layer, or Spring Boot's layers exploded under /app."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rollway.errors import InvalidInput
from rollway.image import jar_layout
from rollway.image.jar import file_sha256
from rollway.image.springboot import LayersIndex

from .jars import BOOT_INDEX, boot_files, make_jar


def test_plain_jar_is_one_layer_run_with_java_jar(plain_jar: Path) -> None:
    sha = file_sha256(plain_jar)
    assert sha == hashlib.sha256(plain_jar.read_bytes()).hexdigest()
    with jar_layout(plain_jar, sha) as layout:
        (layer,) = layout.layers
        (entry,) = layer.entries
        assert (entry.path, entry.size, entry.sha256) == (
            "app/app.jar",
            plain_jar.stat().st_size,
            sha,
        )
        assert layer.created_by == "COPY app.jar /app/app.jar"  # not the local file name
        assert layout.entrypoint == ("java", "-jar", "/app/app.jar")
        assert layout.working_dir == "/app"


def test_spring_boot_jar_is_exploded_by_layers_idx(boot_jar: Path) -> None:
    with jar_layout(boot_jar, file_sha256(boot_jar)) as layout:
        paths = {layer.name: [e.path for e in layer.entries] for layer in layout.layers}
        assert list(paths) == [
            "dependencies",
            "spring-boot-loader",
            "snapshot-dependencies",
            "application",
        ]
        assert paths["dependencies"] == ["app/BOOT-INF/lib/dep.jar"]
        assert paths["spring-boot-loader"] == [
            "app/org/springframework/boot/loader/launch/JarLauncher.class"
        ]
        assert paths["snapshot-dependencies"] == []
        assert sorted(paths["application"]) == [
            "app/BOOT-INF/classes/com/example/hello/Main.class",
            "app/BOOT-INF/classpath.idx",
            "app/BOOT-INF/layers.idx",
            "app/META-INF/MANIFEST.MF",
        ]
        assert layout.entrypoint == ("java", "org.springframework.boot.loader.launch.JarLauncher")
        main = next(e for e in layout.layers[3].entries if e.path.endswith("Main.class"))
        assert main.open is not None
        with main.open() as content:
            assert content.read() == b"main 1.0.0"


def test_wrapped_manifest_lines_are_joined(tmp_path: Path) -> None:
    files = boot_files("1")
    files["META-INF/MANIFEST.MF"] = (
        b"Main-Class: org.springframework.boot.loader.la\r\n unch.JarLauncher\r\n"
    )
    jar = make_jar(tmp_path / "wrapped.jar", files)
    with jar_layout(jar, "0" * 64) as layout:
        assert layout.entrypoint[1] == "org.springframework.boot.loader.launch.JarLauncher"


@pytest.mark.parametrize("name", ["../evil", "BOOT-INF/classes/../../../etc/passwd", "/etc/passwd"])
def test_entries_escaping_app_are_refused(tmp_path: Path, name: str) -> None:
    files = boot_files("1")
    files[name] = b"x"
    jar = make_jar(tmp_path / "slip.jar", files)
    with pytest.raises(InvalidInput) as err, jar_layout(jar, "0" * 64):
        pass
    assert err.value.field == "jar"


def test_entry_in_no_layer_is_an_error(tmp_path: Path) -> None:
    files = boot_files("1")
    files["stray.txt"] = b"x"
    with (
        pytest.raises(InvalidInput, match="stray.txt"),
        jar_layout(make_jar(tmp_path / "s.jar", files), "0" * 64),
    ):
        pass


def test_not_a_jar(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.jar"
    bogus.write_text("not a zip")
    with pytest.raises(InvalidInput) as err, jar_layout(bogus, "0" * 64):
        pass
    assert err.value.field == "jar"


def test_layered_jar_needs_a_launcher(tmp_path: Path) -> None:
    files = boot_files("1")
    files["META-INF/MANIFEST.MF"] = b"Manifest-Version: 1.0\n"
    with (
        pytest.raises(InvalidInput, match="Main-Class"),
        jar_layout(make_jar(tmp_path / "n.jar", files), "0" * 64),
    ):
        pass


def test_layers_index_first_claim_wins() -> None:
    index = LayersIndex.parse(BOOT_INDEX)
    assert index.layer_of("BOOT-INF/lib/x.jar") == "dependencies"
    assert index.layer_of("BOOT-INF/layers.idx") == "application"
    assert index.layer_of("META-INF/MANIFEST.MF") == "application"
    claims_twice = LayersIndex.parse('- "a":\n  - "x/"\n- "b":\n  - "x/y"\n')
    assert claims_twice.layer_of("x/y") == "a"


@pytest.mark.parametrize("text", ["[", "{}", "- a\n", "[]", '- "a": 3\n'])
def test_bad_layers_index(text: str) -> None:
    with pytest.raises(InvalidInput):
        LayersIndex.parse(text)
