"""Registry credentials, found where a workflow pod has them mounted; never taken from argv.

In order: `ROLLWAY_REGISTRY_USERNAME` / `ROLLWAY_REGISTRY_PASSWORD` (or `…_FILE` naming a mounted
file), which belong to Rollway's own registry (`ROLLWAY_REGISTRY`) and are never sent anywhere
else; then the `auths` of a Docker `config.json` (`$DOCKER_CONFIG`, else
`~/.docker`), the way a Harbor robot account's secret is mounted.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..destinations import REGISTRY_VARIABLE
from ..errors import InvalidInput

#: The platform registry: the only host the ROLLWAY_REGISTRY_* credentials are sent to.
REGISTRY = REGISTRY_VARIABLE
USERNAME = "ROLLWAY_REGISTRY_USERNAME"
PASSWORD = "ROLLWAY_REGISTRY_PASSWORD"
#: Docker Hub's key in config.json, for the registry named docker.io.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"


@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str
    password: str = dataclasses.field(repr=False)
    #: Where they came from, for error messages (never the values themselves).
    source: str = ""


def find_credentials(
    registry: str, *, home: str | None, env: Mapping[str, str] | None = None
) -> Credentials | None:
    """Credentials for `registry`; `home` is the registry the ROLLWAY_REGISTRY_* ones are for."""
    env = os.environ if env is None else env
    if registry == home:
        username, password = _variable(env, USERNAME), _variable(env, PASSWORD)
        if username and password:
            return Credentials(username, password, f"{USERNAME}/{PASSWORD}")
        if username or password:
            missing = PASSWORD if username else USERNAME
            raise InvalidInput(f"{missing} (or {missing}_FILE) is not set", field=missing)
    return _docker_config(registry, env)


def _variable(env: Mapping[str, str], name: str) -> str | None:
    """`$NAME`, else the content of the file `$NAME_FILE` names (trailing newline dropped)."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().rstrip("\r\n")
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}", field=f"{name}_FILE") from err


def _docker_config(registry: str, env: Mapping[str, str]) -> Credentials | None:
    folder = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path.home() / ".docker"
    path = folder / "config.json"
    try:
        auths = json.loads(path.read_text()).get("auths") or {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError) as err:
        raise InvalidInput(
            f"{path} is not a readable Docker config: {err}", field="DOCKER_CONFIG"
        ) from err
    for key, entry in auths.items():
        if _host(key) != registry or not isinstance(entry, dict):
            continue
        if entry.get("username") and entry.get("password"):
            return Credentials(entry["username"], entry["password"], str(path))
        if entry.get("auth"):
            try:
                username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as err:
                raise InvalidInput(
                    f"{path}: the auth of {key!r} is not base64 of user:password",
                    field="DOCKER_CONFIG",
                ) from err
            return Credentials(username, password, str(path))
    return None


def _host(key: str) -> str:
    """A config.json key (`host:port`, `https://host/v1/`) as a registry host."""
    if key == DOCKER_HUB_KEY:
        return "docker.io"
    return urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
