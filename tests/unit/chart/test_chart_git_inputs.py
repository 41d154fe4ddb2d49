"""fetch-chart's inputs and credentials: checked before git runs, never on argv or in URLs."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from rollway.chart import git
from rollway.chart.tree import chart_path
from rollway.errors import InvalidInput


def decoded(header: str | None) -> str:
    assert header is not None and header.startswith("Authorization: Basic ")
    return base64.b64decode(header.removeprefix("Authorization: Basic ")).decode()


def test_a_token_is_sent_as_the_password_of_any_user() -> None:
    assert decoded(git.auth_header({"ROLLWAY_GIT_TOKEN": "t0k"})) == "rollway:t0k"
    both = {"ROLLWAY_GIT_TOKEN": "t0k", "ROLLWAY_GIT_USERNAME": "bot", "ROLLWAY_GIT_PASSWORD": "pw"}
    assert decoded(git.auth_header(both)) == "bot:t0k"  # the token wins over the password


def test_username_and_password_without_a_token() -> None:
    env = {"ROLLWAY_GIT_USERNAME": "bot", "ROLLWAY_GIT_PASSWORD": "pw"}
    assert decoded(git.auth_header(env)) == "bot:pw"


def test_credentials_may_come_from_mounted_files(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    env = {"ROLLWAY_GIT_TOKEN_FILE": str(tmp_path / "token")}
    assert decoded(git.auth_header(env)) == "rollway:from-file"


def test_no_credentials_means_anonymous_and_a_password_alone_is_refused() -> None:
    assert git.auth_header({}) is None
    with pytest.raises(InvalidInput) as caught:
        git.auth_header({"ROLLWAY_GIT_PASSWORD": "pw"})
    assert caught.value.field == "ROLLWAY_GIT_USERNAME"
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://bot:secret@gitea.example.com/team/charts.git", "must not carry credentials"),
        ("ssh://git@gitea.example.com/team/charts.git", "not an http(s) clone URL"),
        ("file:///srv/charts.git", "not an http(s) clone URL"),
        ("https://gitea.example.com/{{workflow.name}}.git", "must not contain"),
    ],
)
def test_repository_urls_are_checked(url: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        git.repo_url(url)
    assert caught.value.field == "repo"
    assert reason in caught.value.message
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("ref", ["main", "v1.4.2", "release/2026.01", "a" * 40, "feature_x-1"])
def test_branches_tags_and_commits_are_refs(ref: str) -> None:
    assert git.git_ref(ref) == ref


@pytest.mark.parametrize(
    "ref", ["--upload-pack=touch /tmp/x", "-b", "a..b", "main.lock", "dir/", "", "a b", "x~1"]
)
def test_anything_git_could_read_as_an_option_or_range_is_refused(ref: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        git.git_ref(ref)
    assert caught.value.field == "ref"


@pytest.mark.parametrize("path", ["/etc", "../outside", "charts/../../x", ""])
def test_the_chart_path_stays_inside_the_repository(path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        chart_path(path)
    assert caught.value.field == "path"


def test_an_unreadable_secret_file_names_its_variable(tmp_path: Path) -> None:
    env = {"ROLLWAY_GIT_TOKEN_FILE": str(tmp_path / "missing")}
    with pytest.raises(InvalidInput) as caught:
        git.auth_header(env)
    assert caught.value.field == "ROLLWAY_GIT_TOKEN_FILE"
