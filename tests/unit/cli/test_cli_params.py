"""Parsing of deploy/upgrade values: artifact coordinates, chart locations, --set, canary steps."""

from __future__ import annotations

import click
import pytest

from rollway.cli.params import Artifact, Chart, canary_steps, sets


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("com.example:hello:1.0.0", ("com.example:hello", "1.0.0")),
        ("com.example:hello", ("com.example:hello", None)),
        ("org.acme:orders:1.4.2-SNAPSHOT", ("org.acme:orders", "1.4.2-SNAPSHOT")),
    ],
)
def test_artifact_coordinates(text: str, parsed: tuple[str, str | None]) -> None:
    assert Artifact().convert(text, None, None) == parsed


@pytest.mark.parametrize("text", ["com.example", "a:b:c:d", "a::1", "a:b c", "a:{{x}}:1"])
def test_bad_artifact_coordinates_are_usage_errors(text: str) -> None:
    with pytest.raises(click.BadParameter):
        Artifact().convert(text, None, None)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("http://git:3000/org/charts.git//charts/app@main",
         {"repo": "http://git:3000/org/charts.git", "path": "charts/app", "ref": "main"}),
        ("https://git/org/charts.git", {"repo": "https://git/org/charts.git"}),
        ("https://git/org/charts.git@v1.2", {"repo": "https://git/org/charts.git", "ref": "v1.2"}),
        ("https://git/org/charts.git//app", {"repo": "https://git/org/charts.git", "path": "app"}),
        ("ssh://git@host/org/charts.git", {"repo": "ssh://git@host/org/charts.git"}),
    ],
)  # fmt: skip
def test_chart_locations(text: str, parsed: dict[str, str]) -> None:
    assert Chart().convert(text, None, None) == parsed


@pytest.mark.parametrize("text", ["", "https://git/x.git//", "https://git/x.git@", "x{{y}}"])
def test_bad_chart_locations(text: str) -> None:
    with pytest.raises(click.BadParameter):
        Chart().convert(text, None, None)


def test_set_values_stay_text_for_the_server_to_type() -> None:
    assert sets(("a.b=1", "c=true", "d=x=y", "e=")) == {
        "a.b": "1",
        "c": "true",
        "d": "x=y",
        "e": "",
    }
    with pytest.raises(click.BadParameter, match="'nokey' is not KEY=VALUE"):
        sets(("nokey",))


def test_set_keys_are_checked_as_the_server_checks_them_and_kept_escaped() -> None:
    assert sets(("nodeSelector.kubernetes\\.io/arch=amd64", "tolerations[0].key=k")) == {
        "nodeSelector.kubernetes\\.io/arch": "amd64",
        "tolerations[0].key": "k",
    }
    with pytest.raises(click.BadParameter, match=r"'a\[x\]=1': the key has 'a\[x\]', not NAME"):
        sets(("a[x]=1",))


def test_canary_weights_pause_for_promotion_between_them() -> None:
    pause: dict[str, object] = {"pause": {}}
    assert canary_steps("20,50,100") == [
        {"setWeight": 20}, pause, {"setWeight": 50}, pause, {"setWeight": 100}]  # fmt: skip
    assert canary_steps("20,pause:30s,100") == [
        {"setWeight": 20}, {"pause": {"duration": "30s"}}, {"setWeight": 100}]  # fmt: skip
    assert canary_steps(None) is None


@pytest.mark.parametrize("text", ["", "101", "ten", "20,pause:soon"])
def test_bad_canary_steps(text: str) -> None:
    with pytest.raises(click.BadParameter):
        canary_steps(text)
