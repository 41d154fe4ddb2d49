"""Kubernetes client failures as Rollway errors: what is worth a retry, what is missing."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from rollway.errors import NotFound, RollwayError, TransientError, UpstreamError
from rollway.kube.client import api_error, api_errors


def answer(status: int, message: str | None = None) -> ApiException:
    exc = ApiException(status=status, reason="Reason")
    exc.body = json.dumps({"kind": "Status", "message": message}) if message else None
    return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (answer(404), NotFound),
        (answer(409, "the object has been modified"), TransientError),
        (answer(429), TransientError),
        (answer(503), TransientError),
        (answer(403, "forbidden"), UpstreamError),
        (ProtocolError("connection reset"), TransientError),
    ],
    ids=["404", "409", "429", "503", "403", "unreachable"],
)
def test_each_failure_becomes_the_error_of_its_kind(exc: Exception, kind: type) -> None:
    assert type(api_error(exc, "rollout 'x'")) is kind


def test_the_message_is_the_api_servers_own_else_the_reason() -> None:
    said = api_error(answer(403, 'rollouts "x" is forbidden'), "rollout 'x'")
    assert str(said) == "rollout 'x': the Kubernetes API answered 403: rollouts \"x\" is forbidden"
    assert str(api_error(answer(400), "rollout 'x'")).endswith("answered 400: Reason")


def test_api_errors_raises_them_from_the_client_failure() -> None:
    with (
        pytest.raises(RollwayError, match="rollout 'x' not found") as raised,
        api_errors("rollout 'x'"),
    ):
        raise answer(404)
    assert isinstance(raised.value.__cause__, ApiException)
