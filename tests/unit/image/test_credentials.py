"""Where credentials come from, and where they never go."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from rollway.errors import InvalidInput
from rollway.image import find_credentials, registry_url

HOME = "harbor.example.com"


def _docker_config(tmp_path: Path, auths: dict[str, object]) -> dict[str, str]:
    (tmp_path / "config.json").write_text(json.dumps({"auths": auths}))
    return {"DOCKER_CONFIG": str(tmp_path)}


def test_environment_variables_for_rollways_registry() -> None:
    env = {"ROLLWAY_REGISTRY_USERNAME": "robot$ci", "ROLLWAY_REGISTRY_PASSWORD": "s3cret"}
    found = find_credentials(HOME, home=HOME, env=env)
    assert found is not None
    assert (found.username, found.password) == ("robot$ci", "s3cret")
    assert "s3cret" not in repr(found)


def test_environment_credentials_never_go_to_another_registry(tmp_path: Path) -> None:
    env = {
        "ROLLWAY_REGISTRY_USERNAME": "robot$ci",
        "ROLLWAY_REGISTRY_PASSWORD": "s3cret",
        "DOCKER_CONFIG": str(tmp_path),  # empty: no config.json
    }
    assert find_credentials("docker.io", home=HOME, env=env) is None


def test_mounted_files(tmp_path: Path) -> None:
    (tmp_path / "user").write_text("robot$ci\n")
    (tmp_path / "pass").write_text("s3cret\n")
    env = {
        "ROLLWAY_REGISTRY_USERNAME_FILE": str(tmp_path / "user"),
        "ROLLWAY_REGISTRY_PASSWORD_FILE": str(tmp_path / "pass"),
    }
    found = find_credentials(HOME, home=HOME, env=env)
    assert found is not None
    assert (found.username, found.password) == ("robot$ci", "s3cret")


def test_half_a_credential_is_an_error() -> None:
    with pytest.raises(InvalidInput) as err:
        find_credentials(HOME, home=HOME, env={"ROLLWAY_REGISTRY_USERNAME": "robot$ci"})
    assert err.value.field == "ROLLWAY_REGISTRY_PASSWORD"


def test_unreadable_file_names_the_variable_not_the_content(tmp_path: Path) -> None:
    env = {"ROLLWAY_REGISTRY_USERNAME": "u", "ROLLWAY_REGISTRY_PASSWORD_FILE": str(tmp_path / "no")}
    with pytest.raises(InvalidInput) as err:
        find_credentials(HOME, home=HOME, env=env)
    assert err.value.field == "ROLLWAY_REGISTRY_PASSWORD_FILE"


@pytest.mark.parametrize("key", [HOME, f"https://{HOME}", f"https://{HOME}/v2/"])
def test_docker_config_auth(tmp_path: Path, key: str) -> None:
    token = base64.b64encode(b"robot$harbor:pa:ss").decode()
    env = _docker_config(tmp_path, {"other.example.com": {"auth": "eDp5"}, key: {"auth": token}})
    found = find_credentials(HOME, home="elsewhere", env=env)
    assert found is not None
    assert (found.username, found.password) == ("robot$harbor", "pa:ss")
    assert found.source == str(tmp_path / "config.json")


def test_docker_config_username_password_and_docker_hub(tmp_path: Path) -> None:
    env = _docker_config(
        tmp_path, {"https://index.docker.io/v1/": {"username": "me", "password": "pw"}}
    )
    found = find_credentials("docker.io", home=HOME, env=env)
    assert found is not None
    assert (found.username, found.password) == ("me", "pw")


def test_no_credentials_anywhere(tmp_path: Path) -> None:
    assert find_credentials(HOME, home=HOME, env={"DOCKER_CONFIG": str(tmp_path)}) is None


def test_broken_docker_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(InvalidInput) as err:
        find_credentials(HOME, home=HOME, env={"DOCKER_CONFIG": str(tmp_path)})
    assert err.value.field == "DOCKER_CONFIG"


@pytest.mark.parametrize(
    ("registry", "env", "url"),
    [
        (
            "127.0.0.1:25000",
            {"ROLLWAY_REGISTRY_URL": "http://127.0.0.1:25000/"},
            "http://127.0.0.1:25000",
        ),
        ("127.0.0.1:5000", {}, "http://127.0.0.1:5000"),
        ("localhost:5000", {}, "http://localhost:5000"),
        ("[::1]:5000", {}, "http://[::1]:5000"),
        (
            "harbor.example.com",
            {"ROLLWAY_REGISTRY_URL": "http://127.0.0.1:25000"},
            "https://harbor.example.com",
        ),
    ],
)
def test_registry_url(registry: str, env: dict[str, str], url: str) -> None:
    assert registry_url(registry, env) == url
