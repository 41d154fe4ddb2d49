"""The Kubernetes API client: its configuration, and its failures as Rollway errors.

`kubernetes` is imported only when a client is made or a failure is read, so importing this
module stays cheap for the CLI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import NotFound, RollwayError, TransientError, UpstreamError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


def load_api(
    kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
) -> ApiClient:
    """An ApiClient from a kubeconfig (argument, `KUBECONFIG`, ~/.kube/config) or in-cluster."""
    from kubernetes import client, config

    path = os.fspath(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG")
    try:
        if path or Path("~/.kube/config").expanduser().exists():
            return cast(
                "ApiClient", config.new_client_from_config(config_file=path, context=context)
            )
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    except config.ConfigException as exc:
        raise UpstreamError(
            f"no usable Kubernetes configuration: {exc}",
            hint="set KUBECONFIG, or run in a pod with a service account",
        ) from exc


def api_error(exc: Exception, what: str) -> RollwayError:
    """The Rollway error for a Kubernetes client failure while accessing `what`."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException):
        return TransientError(f"{what}: cannot reach the Kubernetes API: {exc}")
    if exc.status == 404:
        return NotFound(f"{what} not found")
    answer = f"{what}: the Kubernetes API answered {exc.status}: {_api_message(exc)}"
    if exc.status in (409, 429) or (exc.status or 0) >= 500:
        return TransientError(answer)
    return UpstreamError(answer)


@contextmanager
def api_errors(what: str) -> Iterator[None]:
    """Raise Kubernetes client failures as Rollway errors (`api_error`)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except (ApiException, HTTPError) as exc:
        raise api_error(exc, what) from exc


def _api_message(exc: Any) -> str:
    """The `message` of the Status the API server sent, else the HTTP reason."""
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.reason)
