"""How repository answers map to errors: retryable, credentials, not found, never a secret."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rollway.errors import InvalidInput, TransientError, UpstreamError
from rollway.maven import MavenClient

URL = "https://nexus.example.com/repository/maven-releases/com/acme/orders/maven-metadata.xml"


@pytest.fixture
def maven() -> MavenClient:
    return MavenClient(["https://nexus.example.com/repository/maven-releases"], ("bot", "s3cret"))


def test_success_and_404(maven: MavenClient) -> None:
    assert maven._check(httpx.Response(200), URL) is True
    assert maven._check(httpx.Response(404), URL) is False


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_trouble_is_transient(maven: MavenClient, status: int) -> None:
    with pytest.raises(TransientError, match=str(status)) as caught:
        maven._check(httpx.Response(status), URL)
    assert caught.value.exit_code == 75


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_named_by_variable_not_value(
    maven: MavenClient, status: int
) -> None:
    with pytest.raises(UpstreamError) as caught:
        maven._check(httpx.Response(status), URL)
    assert not isinstance(caught.value, TransientError)
    assert "refused the credentials" in caught.value.message
    assert "ROLLWAY_MAVEN_PASSWORD" in (caught.value.hint or "")
    assert "s3cret" not in f"{caught.value} {caught.value.hint}"


def test_other_client_errors_are_not_retried(maven: MavenClient) -> None:
    with pytest.raises(UpstreamError) as caught:
        maven._check(httpx.Response(400), URL)
    assert not isinstance(caught.value, TransientError)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://bot:pw@nexus.example.com/repository/x", "must not carry credentials"),
        ("ftp://nexus.example.com/repository/x", "not an http(s) URL"),
        ("https://nexus.example.com/repository/x?token=1", "query or fragment"),
    ],
)
def test_repository_urls_are_checked(url: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        MavenClient([url])
    assert caught.value.field == "repository"
    assert reason in caught.value.message


def test_settings_come_from_the_environment_and_secret_files(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("from-a-file\n")
    env = {
        "ROLLWAY_MAVEN_URL": "http://nexus:8081/repository/maven-releases",
        "ROLLWAY_MAVEN_SNAPSHOTS_URL": "http://nexus:8081/repository/maven-snapshots/",
        "ROLLWAY_MAVEN_USERNAME": "bot",
        "ROLLWAY_MAVEN_PASSWORD_FILE": str(tmp_path / "password"),
    }
    with MavenClient.from_env(environ=env) as maven:
        assert maven.repositories == [
            "http://nexus:8081/repository/maven-releases/",
            "http://nexus:8081/repository/maven-snapshots/",
        ]
        assert maven._http.auth is not None
    # Another repository never gets the credentials: it is refused while they are set.
    with pytest.raises(InvalidInput) as caught:
        MavenClient.from_env(["http://other/repo"], environ=env)
    assert caught.value.field == "repository" and "from-a-file" not in str(caught.value)
    anonymous = {k: v for k, v in env.items() if "USERNAME" not in k and "PASSWORD" not in k}
    with MavenClient.from_env(["http://other/repo"], environ=anonymous) as maven:
        assert maven.repositories == ["http://other/repo/"] and maven._http.auth is None


def test_a_username_without_a_password_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        MavenClient.from_env(
            environ={"ROLLWAY_MAVEN_URL": "http://n/r", "ROLLWAY_MAVEN_USERNAME": "b"}
        )
    assert caught.value.field == "ROLLWAY_MAVEN_PASSWORD"


def test_no_repository_at_all_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        MavenClient.from_env(environ={})
    assert caught.value.field == "repository"
