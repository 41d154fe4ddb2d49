"""The Argo Server backend: Hera's WorkflowsService for the calls, httpx for the streams.

Hera's generated methods cover submit/get/list/stop/terminate/retry/resume; the watch
(`/api/v1/workflow-events/{ns}`) and log (`/api/v1/workflows/{ns}/{name}/log`) endpoints answer
newline-delimited `{"result": …}` streams, which we read with httpx streaming.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

from ...errors import (
    Conflict,
    EngineUnavailable,
    InvalidInput,
    NotFound,
    RollwayError,
    Unauthorized,
    UpstreamError,
)
from ...pipeline import validate_arguments
from .base import Cancel, NodeStatus, WorkflowStatus
from .image_pull import pull_failure

T = TypeVar("T")
EXIT_STATUS = re.compile(r"^Error: exit status \d+$")
#: How Argo 3.7 words a step whose main container exited non-zero (the reason is in its log).
EXITED = re.compile(r"^main: Error \(exit code (\d+)\)$")
#: Seconds a finished step's log may take to read.
LOG_TIMEOUT = 10
#: Answers of an Argo Server (or a proxy before it) that cannot serve right now.
UNAVAILABLE = frozenset({502, 503, 504})


class ArgoBackend:
    def __init__(
        self,
        url: str,
        namespace: str = "rollway",
        token: str | None = None,
        verify_ssl: bool = True,
    ) -> None:
        from hera.workflows import WorkflowsService

        self.url, self.namespace = url.rstrip("/"), namespace
        self.token = f"Bearer {token}" if token and not token.startswith("Bearer ") else token
        self.verify = verify_ssl
        self.service = WorkflowsService(
            host=self.url, token=self.token, verify_ssl=verify_ssl, namespace=namespace
        )

    # -- calls through Hera ------------------------------------------------------------------

    def submit(
        self, template: str, parameters: Mapping[str, str], *, labels: Mapping[str, str], name: str
    ) -> WorkflowStatus:
        from hera.workflows.models import SubmitOpts, WorkflowSubmitRequest

        from ..engine import Parameter

        wft = self._call(
            f"template {template}", lambda: self.service.get_workflow_template(template)
        )
        declared = [
            Parameter(p.name, None if p.value is None else str(p.value), tuple(p.enum or ()))
            for p in (wft.spec.arguments.parameters or [] if wft.spec.arguments else [])
        ]
        # Checked before any of them reaches the server (Argo Server does not check enums).
        parameters = validate_arguments(template, parameters, declared)
        request = WorkflowSubmitRequest(
            namespace=self.namespace,
            resource_kind="WorkflowTemplate",
            resource_name=template,
            submit_options=SubmitOpts(
                name=name,
                parameters=[f"{k}={v}" for k, v in parameters.items()],
                labels=",".join(f"{k}={v}" for k, v in labels.items()),
            ),
        )
        return self._call(
            f"template {template}", lambda: _status(self.service.submit_workflow(request))
        )

    def get(self, name: str) -> WorkflowStatus:
        found = self._call(f"workflow {name}", lambda: _status(self.service.get_workflow(name)))
        return self._explained(found)

    def _explained(self, wf: WorkflowStatus) -> WorkflowStatus:
        """A failed workflow's message as the embedded engine words it, `<step>: exit code N:
        <the step's last line>`: Argo leaves the workflow's empty and says of the step only that
        its main container exited, while the step wrote why on its last line."""
        if wf.phase not in ("Failed", "Error") or wf.message:
            return wf
        failed = next((n for n in wf.nodes if n.type == "Pod" and n.phase in ("Failed", "Error")),
                      None)  # fmt: skip
        if failed is None:
            return wf
        detail = failed.message
        if (exited := EXITED.match(detail)) and failed.pods:
            path = f"/api/v1/workflows/{self.namespace}/{wf.name}/log"
            options = {"logOptions.container": "main", "podName": failed.pods[-1]}
            lines = [str(e.get("content", "")) for e in self._stream(path, options, LOG_TIMEOUT)
                     if not _executor_line(e) and str(e.get("content", "")).strip()]  # fmt: skip
            detail = f"exit code {exited[1]}: {lines[-1] if lines else 'no output'}"
        return dataclasses.replace(wf, message=f"{failed.name}: {detail}")

    def list(self, labels: Mapping[str, str]) -> list[WorkflowStatus]:
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        listing = self._call(
            "workflows", lambda: self.service.list_workflows(label_selector=selector)
        )
        return [_status(wf) for wf in listing.items or []]

    def resume(self, name: str, node_field_selector: str) -> None:
        from hera.workflows.models import WorkflowResumeRequest

        request = WorkflowResumeRequest(name=name, namespace=self.namespace,
                                        node_field_selector=node_field_selector)  # fmt: skip
        self._call(f"workflow {name}", lambda: self.service.resume_workflow(name, request))

    def stop(self, name: str, node_field_selector: str = "") -> None:
        from hera.workflows.models import WorkflowStopRequest

        request = WorkflowStopRequest(name=name, namespace=self.namespace,
                                      node_field_selector=node_field_selector or None)  # fmt: skip
        self._call(f"workflow {name}", lambda: self.service.stop_workflow(name, request))

    def terminate(self, name: str) -> None:
        from hera.workflows.models import WorkflowTerminateRequest

        request = WorkflowTerminateRequest(name=name, namespace=self.namespace)
        self._call(f"workflow {name}", lambda: self.service.terminate_workflow(name, request))

    def retry(self, name: str) -> None:
        from hera.workflows.models import WorkflowRetryRequest

        request = WorkflowRetryRequest(name=name, namespace=self.namespace)
        self._call(f"workflow {name}", lambda: self.service.retry_workflow(name, request))

    # -- streams through httpx ---------------------------------------------------------------

    def watch(
        self, name: str, timeout: float | None = None, cancel: Cancel | None = None
    ) -> Iterator[WorkflowStatus]:
        from hera.workflows.models import Workflow

        yield (current := self.get(name))
        if current.finished:
            return
        params = {"listOptions.fieldSelector": f"metadata.name={name}"}
        events = self._stream(f"/api/v1/workflow-events/{self.namespace}", params, timeout, cancel)
        for event in events:
            wf = event.get("object")
            if wf:
                status = _status(Workflow(**wf))
                if status.finished:
                    yield self._explained(status)
                    return
                yield status

    def logs(
        self, name: str, node: str | None = None, follow: bool = False, cancel: Cancel | None = None
    ) -> Iterator[str]:
        params: dict[str, str] = {"logOptions.container": "main"}
        if follow:
            params["logOptions.follow"] = "true"
        wf = self.get(name)
        steps = {pod: n.name for n in wf.nodes for pod in n.pods}
        path = f"/api/v1/workflows/{self.namespace}/{name}/log"
        if node is None:
            for entry in self._stream(path, params, None, cancel):
                if not _executor_line(entry):
                    pod = entry.get("podName", "")
                    yield f"{steps.get(pod, pod)}: {entry.get('content', '')}"
            return
        match = wf.node(node)
        if match is None:
            raise NotFound(f"workflow {name} has no step {node!r}")
        for pod in match.pods:  # every attempt, in order; only the last one is followed
            last = pod == match.pods[-1]
            options = {**params, "podName": pod}
            if not last:
                options.pop("logOptions.follow", None)
            for entry in self._stream(path, options, None, cancel):
                if not _executor_line(entry):
                    yield f"{match.name}: {entry.get('content', '')}"

    def _stream(
        self,
        path: str,
        params: Mapping[str, str],
        timeout: float | None,
        cancel: Cancel | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Argo Server's newline-delimited JSON stream at `path`; ends at `timeout` seconds of
        silence, or at once when `cancel` is cancelled (its socket is shut down)."""
        import httpx

        headers = {"Authorization": self.token} if self.token else {}
        if cancel and cancel.cancelled:
            return
        extensions = {"trace": _waker(cancel)} if cancel else {}
        try:
            with httpx.Client(verify=self.verify) as client, client.stream(
                "GET", self.url + path, params=params, headers=headers,
                timeout=httpx.Timeout(10, read=timeout), extensions=extensions,
            ) as resp:  # fmt: skip
                if resp.status_code >= 400:
                    resp.read()
                    raise _error(resp.status_code, resp.text, path)
                for line in resp.iter_lines():
                    if line.strip():
                        yield json.loads(line).get("result") or {}
        except httpx.ReadTimeout:
            return
        except httpx.HTTPError as err:
            if cancel and cancel.cancelled:
                return
            raise self._unreachable(err) from None

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from hera.exceptions import HeraException

        try:
            return call()
        except HeraException as err:
            raise _error(err.status_code, str(err), what) from None
        except OSError as err:  # requests' ConnectionError and Timeout among them
            raise self._unreachable(err) from None

    def _unreachable(self, err: Exception) -> EngineUnavailable:
        return EngineUnavailable(f"Argo Server at {self.url} unreachable ({type(err).__name__})")


def _waker(cancel: Cancel) -> Callable[[str, dict[str, Any]], None]:
    """An httpcore trace hook: once connected, cancelling shuts the socket down, which ends a
    read blocked even before the answer's headers (Argo Server sends a followed log's headers
    with its first line). Shutting down, not closing: a close does not wake a read on Linux."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            if sock is not None:
                cancel.on_cancel(partial(sock.shutdown, socket.SHUT_RDWR))

    return trace


def _executor_line(entry: Mapping[str, Any]) -> bool:
    """A line Argo's emissary writes into the main container's log (`… argo=true …`, and
    `Error: exit status N` when the step fails), not the step's own output."""
    content = str(entry.get("content", ""))
    return (content.startswith('time="') and " argo=true" in content) or bool(
        EXIT_STATUS.match(content)
    )


def _error(status: int, message: str, what: str) -> RollwayError:
    if status == 404:
        return NotFound(f"{what} not found")
    if status in (401, 403):
        return Unauthorized(f"Argo Server refused the credentials for {what}")
    if status == 409:
        return Conflict(f"{what}: {message}")
    if status == 400:
        return InvalidInput(f"Argo Server rejected {what}: {message}")
    if status in UNAVAILABLE:
        return EngineUnavailable(f"Argo Server unavailable for {what} ({status})")
    return UpstreamError(f"Argo Server failed on {what} ({status})")


def _status(wf: Any) -> WorkflowStatus:
    meta, status = wf.metadata, wf.status
    nodes = steps(meta.name, (status.nodes if status else None) or {})
    params = (
        {p.name: p.value or "" for p in (wf.spec.arguments.parameters or [])}
        if wf.spec and wf.spec.arguments
        else {}
    )
    return WorkflowStatus(
        name=meta.name,
        namespace=meta.namespace or "",
        template=(
            wf.spec.workflow_template_ref.name if wf.spec and wf.spec.workflow_template_ref else ""
        ),
        phase=(status.phase if status and status.phase else "Pending"),
        labels=dict(meta.labels or {}),
        parameters=params,
        started_at=_time(status.started_at) if status else None,
        finished_at=_time(status.finished_at) if status else None,
        message=(status.message or "") if status else "",
        nodes=tuple(sorted(nodes, key=lambda n: (n.started_at or "~", n.id))),
    )


def steps(workflow: str, nodes: Mapping[str, Any]) -> list[NodeStatus]:
    """Argo's `status.nodes` with each retried step once.

    Argo models a step with a retryStrategy as a `Retry` node whose children are the attempts
    (`build-image(0)`, `build-image(1)`…). The step is reported as one node: the Retry node's
    id, phase and times, its last attempt's outputs (and message once it has finished), the
    number of retries, the pods of all its attempts, and whether its current pod waits for an
    image it cannot pull.
    """
    attempts_of = {
        node_id: [nodes[c] for c in node.children or () if c in nodes and _attempt(nodes[c])]
        for node_id, node in nodes.items()
        if node.type == "Retry"
    }
    attempts = {id(a) for children in attempts_of.values() for a in children}
    found = []
    for node_id, node in nodes.items():
        if id(node) in attempts:
            continue
        tries = attempts_of.get(node_id)
        last = tries[-1] if tries else None
        final = node.phase in ("Succeeded", "Failed", "Error", "Skipped", "Omitted")
        message = node.message or ""
        if last is not None and (final or not message):
            message = last.message or message
        current = last if last is not None else node
        waiting = current.type == "Pod" and current.phase == "Pending"
        found.append(
            NodeStatus(
                id=node_id,
                name=node.display_name or node.name,
                type=current.type or "",
                phase=node.phase or "Pending",
                template=node.template_name or (last.template_name if last else "") or "",
                started_at=_time(node.started_at),
                finished_at=_time(node.finished_at),
                message=message,
                outputs=_outputs(current),
                retries=max(len(tries) - 1, 0) if tries is not None else 0,
                pods=tuple(
                    _pod(workflow, a)
                    for a in (tries if tries is not None else [node])
                    if a.type == "Pod"
                ),  # fmt: skip
                cannot_start=pull_failure(current.message or "") if waiting else "",
                on_exit=(node.name or "").startswith(f"{workflow}.onExit"),
            )
        )
    return found


def _attempt(node: Any) -> bool:
    """A child of a Retry node that is one of its attempts (not, say, a lifecycle hook)."""
    return node.node_flag is None or bool(node.node_flag.retried)


def _outputs(node: Any) -> dict[str, str]:
    params = (node.outputs.parameters or []) if node.outputs else []
    return {p.name: p.value or "" for p in params}


def _pod(workflow: str, node: Any) -> str:
    template = node.template_ref.template if node.template_ref else node.template_name or ""
    return pod_name(workflow, node.name, template)


#: Kubernetes' name limit less the room Argo keeps for the hash (workflow/util/pod_name.go).
MAX_POD_PREFIX = 253 - 10


def pod_name(workflow: str, node_name: str, template: str) -> str:
    """The pod Argo 3.7 runs a node in (POD_NAMES=v2, its default): util.GeneratePodName —
    `<workflow>-<template>-<fnv-1a 32-bit hash of the node's full name>`."""
    if workflow == node_name:
        return workflow
    prefix = f"{workflow}-{template}" if template else workflow
    prefix = prefix[: MAX_POD_PREFIX - 1]
    return f"{prefix}-{fnv32a(node_name.encode())}"


def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits (Go's hash/fnv New32a)."""
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _time(value: Any) -> str | None:
    if value is None:
        return None
    root = getattr(value, "root", getattr(value, "__root__", value))
    return root.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(root, "strftime") else str(root)
