"""What a webhook receives about a deployment or a rollback, whoever sends it.

A Slack-compatible body (`text`) with the facts beside it for machines (`event`, `at`, and
`deployment` or `rollback`). The API server builds the facts from its record, the exit handler
from its workflow; the same facts make the same message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The event of a rollback (the other events are the deployment states).
ROLLED_BACK = "rolledBack"


@dataclass(frozen=True)
class DeploymentFacts:
    """What a message says of a deployment.

    The exit handler knows less than the API server's record: no `kind` and no `created_by`
    (None in its messages), and a stopped workflow is "failed" to it even where the server
    records "aborted" or "rejected".
    """

    id: str
    state: str
    app: str | None = None
    env: str | None = None
    kind: str | None = None
    version: str | None = None
    message: str = ""
    workflow: str | None = None
    created_by: str | None = None


def deployment_message(facts: DeploymentFacts, at: datetime) -> dict[str, Any]:
    """The message of a deployment's new state."""
    text = f"Rollway deployment {facts.id}: {facts.state.capitalize()}"
    if facts.message:
        text += f" ({facts.message})"
    return {
        "event": facts.state,
        "at": at.isoformat(),
        "text": text,
        "deployment": {
            "id": facts.id,
            "app": facts.app,
            "env": facts.env,
            "kind": facts.kind,
            "version": facts.version,
            "state": facts.state,
            "message": facts.message,
            "workflow": facts.workflow,
            "createdBy": facts.created_by,
            "href": f"/api/v1/deployments/{facts.id}",
        },
    }


def rollback_message(
    app: str, env: str, revision: int, deployment_id: str | None, by: str, at: datetime
) -> dict[str, Any]:
    """The message of a rollback; `deployment_id` made the revision put back, when known."""
    return {
        "event": ROLLED_BACK,
        "at": at.isoformat(),
        "text": f"Rollway rollback of {app} in {env} to revision {revision} by {by}",
        "rollback": {
            "app": app,
            "env": env,
            "revision": revision,
            "deploymentId": deployment_id,
            "by": by,
            "href": f"/api/v1/apps/{app}/environments/{env}/rollout",
        },
    }


def finished_state(workflow_status: str) -> str:
    """The deployment state of a workflow that ended with `{{workflow.status}}`, as the API
    server records it when it stopped nothing itself."""
    return "succeeded" if workflow_status == "Succeeded" else "failed"


def failure_message(failures: Sequence[Mapping[str, Any]]) -> str:
    """The first failed node of `{{workflow.failures}}`, as `step: why`."""
    if not failures:
        return ""
    first = failures[0]
    return f"{first.get('displayName')}: {first.get('message')}"


def version_of(coordinates: str | None) -> str | None:
    """The version of Maven coordinates (`group:artifact[:…]:version`), as the app requested it."""
    return coordinates.rsplit(":", 1)[-1] if coordinates and ":" in coordinates else None
