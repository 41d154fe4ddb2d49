"""`rollway-step report`: the exit handler — record the outcome and send notifications.

The outcome goes to the API server's callback when one is configured (ROLLWAY_CALLBACK_URL with
a bearer token in ROLLWAY_CALLBACK_TOKEN), so the deployment record completes even if the
server was not watching; webhooks listed in ROLLWAY_NOTIFY_WEBHOOKS receive a Slack-compatible
message.
"""

from __future__ import annotations

import json
import os

import click

from ..errors import InvalidInput, TransientError
from .outputs import emit


def _failures(text: str) -> list[dict[str, str]]:
    if not text or text in ("null", "{{workflow.failures}}"):
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidInput("is not a JSON list", field="--failures") from None
    return value if isinstance(value, list) else []


@click.command()
@click.option("--deployment-id", required=True)
@click.option("--status", "status", required=True, help="{{workflow.status}}")
@click.option("--failures", default="", help="{{workflow.failures}}")
def command(deployment_id: str, status: str, failures: str) -> None:
    """Report the workflow's outcome to the API server and notification webhooks."""
    import httpx

    try:
        _report(deployment_id, status, _failures(failures))
    except httpx.HTTPError as err:
        raise TransientError(f"could not deliver the outcome: {err.__class__.__name__}") from None


def _report(deployment_id: str, status: str, failed: list[dict[str, str]]) -> None:
    import httpx

    outcome = {"deploymentId": deployment_id, "status": status, "failures": failed}
    delivered = []
    callback = os.environ.get("ROLLWAY_CALLBACK_URL")
    if callback:
        token = os.environ.get("ROLLWAY_CALLBACK_TOKEN", "")
        url = f"{callback.rstrip('/')}/api/v1/internal/deployments/{deployment_id}/outcome"
        httpx.post(url, json=outcome, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        delivered.append("api")
    for hook in filter(None, os.environ.get("ROLLWAY_NOTIFY_WEBHOOKS", "").split(",")):
        text = f"Rollway deployment {deployment_id}: {status}"
        if failed:
            text += f" ({failed[0].get('displayName')}: {failed[0].get('message')})"
        httpx.post(hook.strip(), json={"text": text, **outcome}, timeout=10)
        delivered.append("webhook")
    emit({"status": status, "delivered": ",".join(delivered)})
