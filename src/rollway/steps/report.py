"""`rollway-step report`: the exit handler — record the outcome and send notifications.

The outcome goes to the API server's callback when one is configured (ROLLWAY_CALLBACK_URL), so
the deployment record completes even if the server was not watching. The server takes Keycloak
access tokens only, so the step gets a fresh one for the client in ROLLWAY_CALLBACK_CLIENT_ID /
ROLLWAY_CALLBACK_CLIENT_SECRET (client-credentials grant at ROLLWAY_KEYCLOAK_URL, realm
ROLLWAY_KEYCLOAK_REALM). Webhooks listed in ROLLWAY_NOTIFY_WEBHOOKS receive the message an
app's webhooks get from the API server's outbox, sent the same way (`rollway.notify`). Only an
answered 2xx counts as delivered; a 5xx or 429, a timeout or a dropped connection is tried again
on the outbox's schedule, as far as the step's time budget reaches. What still fails is a warning
naming the status and the reason given, and the `undelivered` output: the step itself succeeds,
so a notification problem never turns a good deployment into a failed workflow (the API server
reconciles from the engine anyway).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..auth import client_credentials, oauth
from ..credentials import secret
from ..errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RollwayError,
    TransientError,
    Unauthorized,
    UpstreamError,
)
from . import outputs

if TYPE_CHECKING:
    import httpx

    from ..notify.delivery import Attempt, Sender

DEFAULT_REALM = "rollway"
#: Seconds every delivery together may take: a try (on `rollway.notify.delivery`'s schedule)
#: starts only within it, and one try (a token and a POST, each with TIMEOUT) ends well before
#: the template's deadline for the step.
BUDGET = 90
TIMEOUT = 10
#: Refusals with an error (and exit code) of their own; any other 4xx is an UpstreamError.
REFUSED: dict[int, type[RollwayError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound}
#: Where the callback's settings come from, in the workflow's namespace.
CLIENT_HINT = "the client comes from the Secret rollway-callback (keys client-id, client-secret)"
KEYCLOAK_HINT = "the pipeline reads it from the ConfigMap rollway-platform (key keycloak-url)"


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
@click.option("--app", default=None, help="{{workflow.parameters.app}}")
@click.option("--env", default=None, help="{{workflow.parameters.env}}")
@click.option("--coordinates", default=None, help="{{workflow.parameters.coordinates}}")
@click.option("--workflow", default=None, help="{{workflow.name}}")
@outputs.option
def command(
    deployment_id: str,
    status: str,
    failures: str,
    app: str | None,
    env: str | None,
    coordinates: str | None,
    workflow: str | None,
    outputs_dir: Path,
) -> None:
    """Report the workflow's outcome to the API server and notification webhooks."""
    from ..notify.delivery import Sender
    from ..notify.messages import (
        DeploymentFacts,
        deployment_message,
        failure_message,
        finished_state,
        version_of,
    )

    failed = _failures(failures)
    outcome = {"deploymentId": deployment_id, "status": status, "failures": failed}
    sends: list[tuple[str, Callable[[], None]]] = []
    callback = os.environ.get("ROLLWAY_CALLBACK_URL")
    if callback:
        url = f"{callback.rstrip('/')}/api/v1/internal/deployments/{deployment_id}/outcome"
        sends.append(("api", lambda: _post(url, outcome, f"the API server at {callback}",
                                           {"Authorization": f"Bearer {_access_token()}"})))  # fmt: skip
    hooks = [h.strip() for h in os.environ.get("ROLLWAY_NOTIFY_WEBHOOKS", "").split(",")]
    facts = DeploymentFacts(id=deployment_id, state=finished_state(status), app=app, env=env,
                            version=version_of(coordinates), message=failure_message(failed),
                            workflow=workflow)  # fmt: skip
    message = deployment_message(facts, datetime.now(UTC))
    # The administrator's own webhooks: any http(s) host they name (docs/security.md).
    sender = Sender(None, timeout=TIMEOUT)
    for number, hook in enumerate(filter(None, hooks), start=1):
        # Webhook URLs are often credentials: errors name the webhook's position, not its URL.
        what = f"webhook {number} of ROLLWAY_NOTIFY_WEBHOOKS"
        key = f"rollway-{deployment_id}-{facts.state}-webhook-{number}"
        sends.append(("webhook", partial(_notify, sender, hook, message, what, key)))
    deadline = time.monotonic() + BUDGET
    # All at once: a receiver that is down never spends another's share of the time budget.
    with sender, ThreadPoolExecutor(max(1, len(sends))) as pool:
        took = list(pool.map(lambda send: _deliver(send, deadline), [s for _, s in sends]))
    delivered = [target for (target, _), ok in zip(sends, took, strict=True) if ok]
    undelivered = [target for (target, _), ok in zip(sends, took, strict=True) if not ok]
    outputs.emit({"status": status, "delivered": ",".join(delivered),
                  "undelivered": ",".join(undelivered)}, outputs_dir)  # fmt: skip


def _notify(sender: Sender, url: str, message: Mapping[str, Any], what: str, key: str) -> None:
    """One try at a webhook; anything but a 2xx is an error, transient when a retry may help."""
    attempt = sender.post(url, message, key=key)
    if attempt.retry:
        raise Undelivered(_complaint(what, attempt), attempt.asked_wait)
    if not attempt.delivered:
        raise UpstreamError(_complaint(what, attempt))


class Undelivered(TransientError):
    """A webhook that did not take its message but may next time, and the pause it asked
    for (its Retry-After), if it said."""

    def __init__(self, message: str, asked_wait: float | None) -> None:
        super().__init__(message)
        self.asked_wait = asked_wait


def _complaint(what: str, attempt: Attempt) -> str:
    """Why a webhook did not take its message, as a warning names it."""
    if attempt.status is not None:
        return f"{what} answered {attempt.error}" + (
            f": {attempt.detail}" if attempt.detail else ""
        )
    if attempt.retry:
        return f"{what}: the outcome was not delivered ({attempt.error})"
    return f"{what} is {attempt.error}"  # the one final refusal before sending: not http(s)


def _deliver(send: Callable[[], None], deadline: float) -> bool:
    """Send, retrying what a retry may fix on the notification schedule until `deadline`; a
    failure is a warning, never the step's failure: the exit handler failing would mark a
    deployment Failed whose rollout went well."""
    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        stop_before_delay,
    )

    from ..notify.delivery import RETRY_AFTER, retry_after

    def wait(state: RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome else None
        asked = failed.asked_wait if isinstance(failed, Undelivered) else None
        return float(retry_after(state.attempt_number, asked) or 0)

    if time.monotonic() >= deadline:
        click.echo("rollway-step: warning: no time left to try this delivery", err=True)
        return False
    stop = stop_after_attempt(len(RETRY_AFTER) + 1) | stop_before_delay(deadline - time.monotonic())
    retrying = Retrying(retry=retry_if_exception_type(TransientError), reraise=True, stop=stop,
                        wait=wait)  # fmt: skip
    try:
        retrying(send)
    except RollwayError as err:
        click.echo(f"rollway-step: warning: {err}", err=True)
        if err.hint:
            click.echo(f"hint: {err.hint}", err=True)
        return False
    except Exception as err:  # never a traceback: it could show a webhook's URL
        click.echo(f"rollway-step: warning: not delivered ({type(err).__name__})", err=True)
        return False
    return True


def _access_token() -> str:
    """A fresh token of the callback's client: the API server takes Keycloak tokens only, and a
    static one would expire long before most pipelines end."""
    from keycloak.exceptions import KeycloakConnectionError, KeycloakError

    url = _required("ROLLWAY_KEYCLOAK_URL", os.environ.get("ROLLWAY_KEYCLOAK_URL"), KEYCLOAK_HINT)
    realm = os.environ.get("ROLLWAY_KEYCLOAK_REALM") or DEFAULT_REALM
    client_id = _required("ROLLWAY_CALLBACK_CLIENT_ID", secret("ROLLWAY_CALLBACK_CLIENT_ID"))
    client_secret = _required(
        "ROLLWAY_CALLBACK_CLIENT_SECRET", secret("ROLLWAY_CALLBACK_CLIENT_SECRET")
    )
    try:
        answer = client_credentials.token(url, realm, client_id, client_secret, timeout=TIMEOUT)
    except KeycloakConnectionError:
        raise TransientError(f"cannot reach Keycloak at {url}") from None
    except KeycloakError as err:
        raise token_error(err.response_code, err.response_body, url, realm, client_id) from None
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise UpstreamError(f"Keycloak at {url} answered the token request without a token")
    return token


def _required(name: str, value: str | None, hint: str = CLIENT_HINT) -> str:
    if not value:
        raise InvalidInput("is not set; the callback (ROLLWAY_CALLBACK_URL) needs it",
                           field=name, hint=hint)  # fmt: skip
    return value


def token_error(
    status: int | None, body: bytes | None, url: str, realm: str, client_id: str
) -> RollwayError:
    """Why Keycloak gave no token, in its own words (RFC 6749 `error`, `error_description`)."""
    said = f"HTTP {status}" + (f": {reason}" if (reason := _reason(body)) else "")
    if status is None or status >= 500 or status == 429:
        return TransientError(f"Keycloak at {url} answered {said}")
    if status == 404:
        return InvalidInput(f"Keycloak at {url} has no realm '{realm}' ({said})",
                            field="ROLLWAY_KEYCLOAK_REALM")  # fmt: skip
    return Unauthorized(f"Keycloak refused a token to client '{client_id}' of realm '{realm}' "
                        f"({said})", hint=CLIENT_HINT)  # fmt: skip


def _post(url: str, body: dict[str, Any], what: str, headers: dict[str, str] | None = None) -> None:
    """POST the outcome; anything but a 2xx is an error, transient when retrying may help."""
    import httpx

    try:
        answer = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise InvalidInput(f"{what} is not an http(s) URL") from None
    except httpx.HTTPError as err:
        # The exception's text may carry the URL (a webhook's credential): name its kind only.
        raise TransientError(
            f"{what}: the outcome was not delivered ({type(err).__name__})"
        ) from None
    if not answer.is_success:
        raise answer_error(what, answer)


def answer_error(what: str, answer: httpx.Response) -> RollwayError:
    """The error for a non-2xx answer: its status and the problem's detail (RFC 9457)."""
    status = answer.status_code
    message = f"{what} answered HTTP {status}: {_reason(answer.content) or answer.reason_phrase}"
    if status >= 500 or status == 429:
        return TransientError(message)
    return REFUSED.get(status, UpstreamError)(message)


def _reason(body: bytes | None) -> str:
    """What a JSON error body says: problem+json `title: detail`, or OAuth `error: description`."""
    data = oauth.json_object(body)
    said = (str(data.get("title") or ""), str(data["detail"])) if "detail" in data else None
    return ": ".join(filter(None, said or oauth.error_of(body)))
