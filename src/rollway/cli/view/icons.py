"""The symbols and colours of `kubectl argo rollouts get` (its `info` icons and colour mapping),
extended to the pipeline's steps and the deployment's state."""

from __future__ import annotations

WAITING, PROGRESSING, WARNING, UNKNOWN = "◷", "◌", "⚠", "?"
OK, BAD, PAUSED, NEUTRAL = "✔", "✖", "॥", "•"

#: Icon (or tag) → rich style, as the plugin colours them.
STYLES = {
    WAITING: "yellow",
    PROGRESSING: "bright_blue",
    WARNING: "red",
    UNKNOWN: "yellow",
    OK: "green",
    BAD: "red",
    "canary": "yellow",
    "stable": "green",
    "active": "green",
    "preview": "bright_blue",
}

ROLLOUT = {
    "Progressing": PROGRESSING,
    "Error": WARNING,
    "InvalidSpec": WARNING,
    "Paused": PAUSED,
    "Healthy": OK,
    "Degraded": BAD,
    "Unknown": UNKNOWN,
    "ScaledDown": NEUTRAL,
}
REPLICASET = {
    "Progressing": PROGRESSING,
    "Healthy": OK,
    "ReplicaFailure": BAD,
    "ScaledDown": NEUTRAL,
}
#: Argo Workflows node phases.
STEP = {
    "Pending": WAITING,
    "Running": PROGRESSING,
    "Succeeded": OK,
    "Failed": BAD,
    "Error": BAD,
    "Skipped": NEUTRAL,
    "Omitted": NEUTRAL,
}
DEPLOYMENT = {
    "pending": WAITING,
    "running": PROGRESSING,
    "waiting": PAUSED,
    "succeeded": OK,
    "failed": BAD,
    "aborted": BAD,
    "rejected": BAD,
}


def pod(status: str) -> str:
    """`podIcon` of the plugin."""
    if status.startswith("Init:"):
        return PROGRESSING
    if status.startswith(("Signal:", "ExitCode:")):
        return BAD
    if status.endswith("Error") or status.startswith("Err"):
        return WARNING
    return {
        "Pending": PROGRESSING,
        "Terminating": PROGRESSING,
        "ContainerCreating": PROGRESSING,
        "Running": OK,
        "Completed": OK,
        "Failed": BAD,
        "InvalidImageName": BAD,
        "CrashLoopBackOff": BAD,
        "ImagePullBackOff": WARNING,
        "RegistryUnavailable": WARNING,
        "Unknown": UNKNOWN,
    }.get(status, " ")


def step(phase: str, step_type: str = "") -> str:
    """A suspend node that runs is a gate waiting for someone: paused, not progressing."""
    if step_type == "Suspend" and phase == "Running":
        return PAUSED
    return STEP.get(phase, " ")
