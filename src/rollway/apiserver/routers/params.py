"""Path and header parameters shared by the routers, validated before any route code runs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Header, Path, Query

from ...validation import DNS1123_LABEL

AppName = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS1123_LABEL.pattern, description="Application")
]
EnvName = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS1123_LABEL.pattern, description="Environment")
]
DeploymentId = Annotated[
    str,
    Path(min_length=1, max_length=63, pattern=DNS1123_LABEL.pattern, description="Deployment id"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a retried POST safe: the same key and body give the same deployment.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description='Change only the version read: its ETag (e.g. "3"), or * for any.',
    ),
]
IfNoneMatch = Annotated[
    Literal["*"] | None,
    Header(
        alias="If-None-Match",
        description="*: register the application under this name only if the name is free.",
    ),
]
#: A DNS-1123 label in the query string (filters by app or environment).
LabelQuery = Annotated[str, Query(min_length=1, max_length=63, pattern=DNS1123_LABEL.pattern)]
