"""`rollway-step build-image`: bad input is refused, naming the option, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rollway.errors import InvalidInput
from rollway.steps.build import command


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--coordinates", "com.example:hello"], "coordinates"),
        (["--coordinates", "com.example:hello:1.0:x"], "coordinates"),
        (["--jar-sha256", "abc"], "jar-sha256"),
        (["--env", "NOEQUALS"], "env"),
        (["--env", "1BAD=x"], "env"),
        (["--label", "=x"], "label"),
        (["--label", "io.rollway.artifact=forged"], "label"),
        (["--label", "org.opencontainers.image.base.digest=forged"], "label"),
        (["--platform", "linux"], "platform"),
        (["--base", "Reg.example.com/UPPER"], "base"),
        (["--target", "reg.example.com/apps/hello:bad tag"], "target"),
    ],
)
def test_bad_input_names_the_field(tmp_path: Path, extra: list[str], field: str) -> None:
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"PK")
    args = ["--jar", str(jar), "--base", "reg.example.com/library/temurin:17"]
    args += ["--target", "reg.example.com/apps/hello", *extra]
    result = CliRunner().invoke(command, args)
    assert isinstance(result.exception, InvalidInput), result.output
    assert result.exception.field == field


def test_missing_jar_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command, ["--jar", str(tmp_path / "none.jar"), "--base", "b/c:1", "--target", "t/u"]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output
