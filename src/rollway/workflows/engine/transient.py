"""Which failed attempts of a step are worth another one: the retry expression of Rollway's
templates, and the same judgement for the embedded engine.

Transient: the step said so (exit code 75, a TransientError); the kubelet evicted its pod because
the node ran short (Argo's node message is the pod's: "The node was low on resource: memory…");
its pod was shut down from outside — the Eviction API, a drain, a deletion: the kubelet's SIGTERM
ends the step with 143, "main: Error (exit code 143)" (a step's deadline says "Pod was active on
the node longer than…" instead), or Argo never saw it end: "pod deleted".
Not transient: any other exit code — an OOM kill among them ("main: OOMKilled (exit code 137)"),
which would come back on every attempt with the same memory limit — and an eviction for the
pod's own ephemeral-storage limit ("Pod ephemeral local storage usage exceeds…"). The embedded
engine runs no pods: only exit codes decide there.
"""

from __future__ import annotations

import re

#: pkg/kubelet/eviction's nodeLowMessageFmt, the start of an evicted pod's status message.
NODE_LOW = "The node was low on resource"
#: Argo's message for a step whose pod the kubelet shut down (SIGTERM) for its deletion.
SHUT_DOWN = "main: Error (exit code 143)"
#: Argo's message for a step whose pod disappeared before the controller saw it end.
POD_DELETED = "pod deleted"
#: Only an exit code: the form Argo's own examples use.
EXIT_CODE_ONLY = re.compile(r"^asInt\(lastRetry\.exitCode\)\s*==\s*(\d+)$")


def expression(exit_code: int) -> str:
    """The retryStrategy expression (Argo's expr-lang, over `lastRetry`)."""
    return (
        f"asInt(lastRetry.exitCode) == {exit_code}"
        f" || lastRetry.message startsWith '{NODE_LOW}'"
        f" || lastRetry.message in ['{SHUT_DOWN}', '{POD_DELETED}']"
    )


EXPRESSION = re.compile(
    "^" + re.escape(expression(0)).replace(re.escape("== 0"), r"==\s*(\d+)", 1) + "$"
)


def parse(text: str) -> tuple[int, bool] | None:
    """(exit code, whether evictions are retried) of an expression of either form, else None."""
    text = text.strip()
    if match := EXPRESSION.match(text):
        return int(match.group(1)), True
    if match := EXIT_CODE_ONLY.match(text):
        return int(match.group(1)), False
    return None


def evicted(message: str) -> bool:
    """The attempt's pod was evicted for node pressure, or shut down or deleted under it."""
    return message.startswith(NODE_LOW) or message in (SHUT_DOWN, POD_DELETED)
