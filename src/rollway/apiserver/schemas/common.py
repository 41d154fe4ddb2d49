"""What every schema shares: camelCase JSON, unknown fields refused, Rollway's validators."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

from ...errors import InvalidInput
from ...validation import MAVEN_ID, dns_label, no_template


class Model(BaseModel):
    """Request and response bodies: camelCase on the wire, unknown members are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
    )


def checked(check: Callable[[str, str], object]) -> AfterValidator:
    """Run a `rollway.validation`-style check; its message becomes pydantic's, whose location
    already names the field."""

    def run(value: str) -> str:
        try:
            check("value", value)
        except InvalidInput as err:
            raise ValueError(err.message) from None
        return value

    return AfterValidator(run)


def _maven_version(field: str, value: str) -> None:
    if not MAVEN_ID.fullmatch(value):
        raise InvalidInput(
            "must be a Maven version (letters, digits, '.', '_' and '-'), LATEST or RELEASE",
            field=field,
        )


def _json_text_free_of_templates(value: Any) -> Any:
    """Values end up in a workflow parameter, where Argo would expand `{{…}}`."""
    try:
        no_template("value", json.dumps(value))
    except InvalidInput as err:
        raise ValueError(err.message) from None
    return value


DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63), checked(dns_label)]
Text = Annotated[str, StringConstraints(max_length=1024), checked(no_template)]
MavenVersion = Annotated[
    str, StringConstraints(min_length=1, max_length=128), checked(_maven_version)
]
TemplateFree = AfterValidator(_json_text_free_of_templates)


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error is answered (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    #: The input at fault, with its location: `body.version`, `query.limit`, `path.env`.
    field: str | None = None
    hint: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting these statuses as problem+json."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": "Problem",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
