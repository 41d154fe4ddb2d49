"""Where Rollway may send a credential or a request of its own: the one place that decides.

Each credential has a home, the host an administrator configured for it, and goes nowhere
else — whatever an app names:

| credential                      | home                                                    |
|---------------------------------|---------------------------------------------------------|
| registry robot (ROLLWAY_REGISTRY_USERNAME/PASSWORD) | the platform registry, ROLLWAY_REGISTRY |
| git token (ROLLWAY_GIT_TOKEN, …USERNAME/PASSWORD)   | the git server: ROLLWAY_GIT_URL, else the host of ROLLWAY_CHART_REPO |
| Maven (ROLLWAY_MAVEN_USERNAME/PASSWORD)             | the repositories ROLLWAY_MAVEN_URL, …_SNAPSHOTS_URL |

The API server's own requests (dry runs, webhooks) go only to those homes and to the hosts
allowlisted for notifications, and follow no redirect to another host. The API server and the
pipeline's steps both ask this module, so the rule cannot differ between them.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .errors import InvalidInput, UpstreamError

REGISTRY_VARIABLE = "ROLLWAY_REGISTRY"
GIT_VARIABLE = "ROLLWAY_GIT_URL"
CHART_REPO_VARIABLE = "ROLLWAY_CHART_REPO"
MAVEN_VARIABLES = ("ROLLWAY_MAVEN_URL", "ROLLWAY_MAVEN_SNAPSHOTS_URL")
_DEFAULT_PORTS = {"http": 80, "https": 443}

if TYPE_CHECKING:  # only the redirect hook's signature: the build step starts without httpx
    import httpx


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the default port filled in; None otherwise."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def under(url: str, base: str) -> bool:
    """Whether `url` is `base` or below it: same origin, and its path inside base's path."""
    if origin(url) is None or origin(url) != origin(base):
        return False
    path = urllib.parse.urlsplit(url).path
    prefix = urllib.parse.urlsplit(base).path.rstrip("/")
    return path == prefix or path.startswith(f"{prefix}/")


def url_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated setting (a server reached by several names lists each)."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclasses.dataclass(frozen=True)
class Homes:
    """The hosts credentials belong to, as an administrator configured them."""

    #: `host[:port]` of the platform registry.
    registry: str | None = None
    #: Base URLs of the git server (Gitea); one server may be reached by several names.
    git: tuple[str, ...] = ()
    #: Base URLs of the Maven repositories.
    maven: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Homes:
        """The homes a step (or any process) is configured with through its environment."""
        env = os.environ if env is None else env
        return cls.configured(
            registry=env.get(REGISTRY_VARIABLE),
            git_url=env.get(GIT_VARIABLE),
            chart_repo=env.get(CHART_REPO_VARIABLE),
            maven=[env[name] for name in MAVEN_VARIABLES if env.get(name)],
        )

    @classmethod
    def configured(
        cls,
        *,
        registry: str | None,
        git_url: str | None,
        chart_repo: str | None = None,
        maven: Iterable[str] = (),
    ) -> Homes:
        """From settings: the git server is `git_url`, else the server of the default chart
        repository `chart_repo` (its scheme, host and port)."""
        git = url_list(git_url)
        if not git and chart_repo and origin(chart_repo):
            parts = urllib.parse.urlsplit(chart_repo)
            git = (f"{parts.scheme}://{parts.netloc}",)
        return cls(registry or None, git, tuple(maven))

    # -- the registry -----------------------------------------------------------------------

    def check_image_repository(self, repository: str, field: str) -> str:
        """`repository` (`host[:port]/path`) must be in the platform registry: the pipeline
        pushes there with the registry credentials, and the server asks it about tags."""
        host = repository.split("/", 1)[0]
        if self.registry is None:
            raise InvalidInput(
                "no platform registry is configured (ROLLWAY_REGISTRY), so no image "
                "repository is accepted",
                field=field,
            )
        if host != self.registry or "/" not in repository:
            raise InvalidInput(
                f"image repository must be under the platform registry {self.registry} "
                f"(got {repository!r})",
                field=field,
            )
        return repository

    # -- git ----------------------------------------------------------------------------------

    def git_home(self, url: str) -> str | None:
        """The configured git server URL `url` lies under, if any."""
        return next((home for home in self.git if under(url, home)), None)

    def check_chart_repository(self, url: str, field: str) -> str:
        """`url` must be a repository of the configured git server: the git credential is
        sent there, and the server fetches it for dry runs."""
        if not self.git:
            raise InvalidInput(
                f"no git server is configured ({GIT_VARIABLE} or {CHART_REPO_VARIABLE}), so no "
                "chart repository is accepted",
                field=field,
            )
        if self.git_home(url) is None:
            raise InvalidInput(
                f"chart repository must be on the git server {self.git[0]} (got {url!r})",
                field=field,
            )
        return url

    # -- Maven --------------------------------------------------------------------------------

    def maven_home(self, url: str) -> bool:
        """Whether `url` lies in one of the configured Maven repositories."""
        return any(under(url, home) for home in self.maven)


# -- notifications ----------------------------------------------------------------------------


def notification_host_allowed(url: str, allowed: Iterable[str]) -> bool:
    """Whether a webhook `url` may be POSTed to from the server.

    `allowed` holds `host`, `host:port` or `*.domain` entries (the settings' allowlist, and
    a project's own notification hosts where projects add theirs). Nothing is allowed by
    default: the server never reaches a host nobody listed.
    """
    found = origin(url)
    if found is None:
        return False
    _scheme, host, port = found
    for entry in allowed:
        try:
            parts = urllib.parse.urlsplit(f"//{entry.strip()}")
            name, entry_port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            continue
        if entry_port is not None and entry_port != port:
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def check_notification_url(url: str, allowed: Iterable[str], field: str) -> str:
    """A webhook URL whose host is allowlisted, else a 422 naming the field and the host."""
    if not notification_host_allowed(url, allowed):
        host = urllib.parse.urlsplit(url).netloc or url
        raise InvalidInput(
            f"notification host {host} is not allowed (allowlist: ROLLWAY_NOTIFICATION_HOSTS"
            " or the project's notification hosts)",
            field=field,
        )
    return url


# -- redirects --------------------------------------------------------------------------------


def refuse_redirect_elsewhere(response: httpx.Response) -> None:
    """An httpx response hook: a redirect to another origin is an error, never followed.

    httpx would drop the Authorization header on such a redirect, but the request itself
    would still reach a host nobody configured.
    """
    if not response.has_redirect_location:
        return
    target = response.request.url.join(response.headers["Location"])
    if origin(str(target)) != origin(str(response.request.url)):
        response.close()
        raise UpstreamError(
            f"{response.request.url.host} redirected to another host ({target.host}); "
            "Rollway follows redirects only within the host it was configured with"
        )
