"""The judge's traffic: GETs to every side at the rate asked, for the time asked, then a count
of what answered — against a listener on loopback standing for the two Services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from rollway.steps.load import command
from tests.support.loopback import Answer, serving


@pytest.fixture
def listener() -> Iterator[str]:
    with serving(lambda request: Answer(500 if request.path.startswith("/bad") else 200)) as server:
        yield server.url


def test_each_side_gets_the_rate_for_the_duration_and_the_answers_are_counted(
    listener: str,
) -> None:
    done = CliRunner().invoke(command, ["--url", f"{listener}/good", "--url", f"{listener}/bad",
                                        "--rate", "10", "--duration", "2"])  # fmt: skip
    assert done.exit_code == 0, done.output  # 500s are the judge's business, not a failure
    good, bad = done.output.splitlines()
    assert good.startswith(f"{listener}/good  200: ") and bad.startswith(f"{listener}/bad  500: ")
    sent = [int(line.rsplit(": ", 1)[1]) for line in (good, bad)]
    assert all(12 <= n <= 21 for n in sent), sent  # about 10 a second for 2 s, never more


def test_a_side_that_does_not_answer_is_counted_not_fatal() -> None:
    done = CliRunner().invoke(command, ["--url", "http://127.0.0.1:9/", "--rate", "2",
                                        "--duration", "1"])  # fmt: skip
    assert done.exit_code == 0 and "ConnectError" in done.output


@pytest.mark.parametrize("args", [["--rate", "0"], ["--rate", "51"], ["--duration", "0"],
                                  ["--duration", "3601"]])  # fmt: skip
def test_rate_and_time_are_bounded(args: list[str]) -> None:
    base = {"--rate": "1", "--duration": "1"} | dict(zip(args[::2], args[1::2], strict=True))
    done = CliRunner().invoke(command, ["--url", "http://127.0.0.1:9/",
                                        *[x for kv in base.items() for x in kv]])  # fmt: skip
    assert done.exit_code == 2 and args[0] in done.output
