"""Conditional requests on an application (RFC 9110 §13): its ETag, and the If-Match a client
sends back so that its change never overwrites one it has not seen."""

from __future__ import annotations

import re

from ..errors import InvalidInput, PreconditionFailed
from .models import Application

#: One entity-tag: `"opaque"`, or weak `W/"opaque"`.
ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e]*"'
TAG_LIST = re.compile(rf"\s*{ENTITY_TAG}\s*(?:,\s*{ENTITY_TAG}\s*)*")


def etag(app: Application) -> str:
    """A strong validator: the stored version, which every change of the application bumps."""
    return f'"{app.version}"'


def check_if_match(header: str | None, app: Application) -> None:
    """Nothing unless If-Match was sent and is neither `*` nor a list holding the application's
    ETag (compared strongly: a weak tag never matches)."""
    if header is None or header.strip() == "*":
        return
    if not TAG_LIST.fullmatch(header):
        raise InvalidInput(
            'must be * or entity-tags as ETag gives them, e.g. "3"', field="header.If-Match"
        )
    strong = [tag for tag in re.findall(ENTITY_TAG, header) if not tag.startswith("W/")]
    if etag(app) not in strong:
        raise PreconditionFailed(
            f"application '{app.name}' changed since it was read: its ETag is now {etag(app)}",
            field="header.If-Match",
            hint="read it again and make the change to what it is now",
        )
