"""Validation of everything that can reach a workflow parameter or a Kubernetes name.

Argo expands `{{…}}` inside parameters, so any user text that could end up in one is checked
here first, with an error naming the field.
"""

from __future__ import annotations

import re

from .errors import InvalidInput

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: Maven groupId / artifactId / version / classifier / extension segments.
MAVEN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def no_template(field: str, value: str) -> str:
    """Reject text Argo would expand as a template expression (it starts at `{{`; a lone `}}`,
    as at the end of nested JSON, is inert)."""
    if "{{" in value:
        raise InvalidInput("must not contain '{{' (Argo template syntax)", field=field)
    return value


def dns_label(field: str, value: str, *, max_length: int = 63) -> str:
    """A Kubernetes name: DNS-1123 label (lowercase alphanumerics and '-', ≤ 63 characters)."""
    if not value:
        raise InvalidInput("must not be empty", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"must be at most {max_length} characters", field=field)
    if not DNS1123_LABEL.match(value):
        raise InvalidInput(
            "must be a DNS-1123 label: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
            field=field,
        )
    return value
