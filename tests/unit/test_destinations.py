"""Which host may receive which credential: the one decision, as pure logic."""

from __future__ import annotations

import pytest

from rollway.destinations import Homes, notification_host_allowed, origin, under
from rollway.errors import InvalidInput

HOMES = Homes.configured(
    registry="127.0.0.1:25000",
    git_url="http://10.245.0.1:23000, http://127.0.0.1:23000",
    maven=["http://nexus:8081/repository/maven-releases/"],
)


def test_origins_fill_in_default_ports_and_refuse_other_schemes() -> None:
    assert origin("https://Git.Example.com/x") == ("https", "git.example.com", 443)
    assert origin("http://h:8080") == ("http", "h", 8080)
    assert origin("ftp://h/x") is None and origin("http://h:99999") is None


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        ("http://127.0.0.1:23000/rollway/charts.git", True),
        ("http://10.245.0.1:23000/a.git", True),
        ("http://127.0.0.1:23001/rollway/charts.git", False),
        ("https://127.0.0.1:23000/rollway/charts.git", False),
        ("http://127.0.0.7:23000/rollway/charts.git", False),
        ("http://127.0.0.1:23000@127.0.0.7/x.git", False),
    ],
)
def test_a_chart_repository_must_be_on_the_git_server(url: str, inside: bool) -> None:
    assert (HOMES.git_home(url) is not None) is inside
    if not inside:
        with pytest.raises(InvalidInput) as refused:
            HOMES.check_chart_repository(url, "body.chart.repo")
        assert refused.value.field == "body.chart.repo"
        assert "must be on the git server http://10.245.0.1:23000" in refused.value.message


def test_the_git_server_defaults_to_the_default_chart_repositorys() -> None:
    homes = Homes.configured(
        registry=None, git_url=None, chart_repo="https://gitea.acme/platform/charts.git"
    )
    assert homes.git == ("https://gitea.acme",)
    assert homes.git_home("https://gitea.acme/team/charts.git") == "https://gitea.acme"
    with pytest.raises(InvalidInput, match="no git server is configured"):
        Homes().check_chart_repository("https://gitea.acme/x.git", "repo")


@pytest.mark.parametrize(
    "repository", ["127.0.0.7:25000/apps/hello", "127.0.0.1:25001/apps/hello", "127.0.0.1:25000"]
)
def test_an_image_repository_must_be_under_the_platform_registry(repository: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        HOMES.check_image_repository(repository, "body.imageRepository")
    assert refused.value.field == "body.imageRepository"
    assert refused.value.message.startswith(
        "image repository must be under the platform registry 127.0.0.1:25000"
    )
    assert HOMES.check_image_repository("127.0.0.1:25000/apps/hello", "f")


def test_maven_homes_are_the_configured_repositories() -> None:
    assert HOMES.maven_home("http://nexus:8081/repository/maven-releases/com/a/1/a.jar")
    assert not HOMES.maven_home("http://nexus:8081/repository/other/com/a/1/a.jar")
    assert not under("http://nexus:8081/repository/maven-releases-evil/x", HOMES.maven[0])


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/services/x", True),
        ("http://127.0.0.1:8099/hook", True),
        ("http://127.0.0.7:8099/hook", False),
        ("https://chat.acme.internal/h", True),
        ("https://acme.internal.evil.com/h", False),
        ("http://127.0.0.2:9000/h", True),
        ("http://127.0.0.2:9001/h", False),
        ("ftp://hooks.slack.com/x", False),
    ],
)
def test_webhooks_go_only_to_allowlisted_hosts(url: str, allowed: bool) -> None:
    allowlist = ["hooks.slack.com", "127.0.0.1", "*.acme.internal", "127.0.0.2:9000"]
    assert notification_host_allowed(url, allowlist) is allowed


def test_nothing_is_allowed_by_default() -> None:
    assert not notification_host_allowed("https://hooks.slack.com/x", [])
