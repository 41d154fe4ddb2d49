"""Secrets a step or the API server reads from its environment, never from arguments.

A secret comes from the variable NAME, or from the file named by NAME_FILE (a mounted Kubernetes
Secret), so it never shows in argv, in `ps` or in a workflow's parameters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import InvalidInput


def secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """NAME's value, else the contents of the file NAME_FILE names (trailing newline dropped)."""
    env = os.environ if environ is None else environ
    value = env.get(name)
    if value:
        return value
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().rstrip("\r\n") or None
    except OSError as err:
        reason = f"cannot read the file it names: {err.strerror}"
        raise InvalidInput(reason, field=f"{name}_FILE") from None
