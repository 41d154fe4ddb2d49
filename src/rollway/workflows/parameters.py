"""The pipeline's parameters: declared once, used to define the templates and to validate input.

Argo expands `{{…}}` inside parameter values, so every value is checked here before anything is
submitted, through `rollway.pipeline.validate_arguments` — by the API server and both backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..chart.tree import chart_path
from ..errors import InvalidInput
from ..pipeline import BUILD_TEMPLATE, DEFAULT_STRATEGY, DEPLOY_TEMPLATE, STRATEGIES
from ..validation import dns_label, no_template

Check = Callable[[str, str], object]


def _pattern(regex: str, expected: str) -> Check:
    compiled = re.compile(regex)

    def check(name: str, value: str) -> None:
        if not compiled.fullmatch(value):
            raise InvalidInput(f"{value!r} is not {expected}", field=name)

    return check


def _json_object(name: str, value: str) -> None:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise InvalidInput(
            f"is not valid JSON ({err.msg} at position {err.pos})", field=name
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidInput("must be a JSON object", field=name)


def _empty_or(check: Check) -> Check:
    def either(name: str, value: str) -> None:
        if value:
            check(name, value)

    return either


def _int_range(low: int, high: int) -> Check:
    def check(name: str, value: str) -> None:
        if not value.isdigit() or not low <= int(value) <= high:
            raise InvalidInput(f"must be an integer from {low} to {high}", field=name)

    return check


COORDINATES = _pattern(
    r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?)?(@[A-Za-z0-9_.-]+)?",
    "Maven coordinates group:artifact[:version][:classifier][@extension]",
)
IMAGE_REPOSITORY = _pattern(
    r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+",
    "an image repository like host[:port]/path",
)
IMAGE_REFERENCE = _pattern(
    r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(@sha256:[a-f0-9]{64})?",
    "an image reference like host[:port]/path[:tag][@sha256:…]",
)
GIT_URL = _pattern(r"https?://[^\s]+", "an http(s) git URL")
GIT_REF = _pattern(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}", "a branch, tag or commit")
_CHART_PATH_SYNTAX = _pattern(
    r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", "a relative path inside the repository"
)


def CHART_PATH(name: str, value: str) -> None:  # noqa: N802 (a check, named like its peers)
    """Plain path characters, and never out of the repository (no `..`)."""
    _CHART_PATH_SYNTAX(name, value)
    chart_path(value, field=name)


DEPLOYMENT_ID = _pattern(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "a deployment id (DNS-1123 label)")


@dataclass(frozen=True)
class Param:
    """A workflow parameter: its description and enum go into the template, `check` guards it."""

    name: str
    description: str
    default: str | None = None
    enum: tuple[str, ...] = ()
    check: Check | None = None

    def validate(self, value: str) -> str:
        no_template(self.name, value)
        if self.enum and value not in self.enum:
            raise InvalidInput(
                f"must be one of {', '.join(self.enum)} (got {value!r})", field=self.name
            )
        if self.check is not None:
            self.check(self.name, value)
        return value


@dataclass(frozen=True)
class ParamSet:
    params: tuple[Param, ...] = field(default_factory=tuple)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.params)

    def validate(self, arguments: Mapping[str, object]) -> dict[str, str]:
        """Complete `arguments` with defaults and validate each value; unknown names are errors."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise InvalidInput(f"unknown parameter (known: {', '.join(known)})", field=unknown[0])
        result: dict[str, str] = {}
        for param in self.params:
            raw = arguments.get(param.name, param.default)
            if raw is None:
                raise InvalidInput("is required", field=param.name)
            result[param.name] = param.validate(str(raw))
        return result


BUILD_PARAMS = ParamSet(
    (
        Param(
            "deployment-id", "Rollway deployment record this run belongs to", check=DEPLOYMENT_ID
        ),
        Param("app", "Application name (DNS-1123 label)", check=dns_label),
        Param("env", "Target environment (DNS-1123 label)", default="dev", check=dns_label),
        Param("coordinates", "Maven coordinates of the jar", check=COORDINATES),
        Param(
            "image-repository", "Registry repository the image is pushed to", check=IMAGE_REPOSITORY
        ),
        Param("base-image", "Base image with a Java runtime", check=IMAGE_REFERENCE),
        Param(
            "platform",
            "Platform picked from the base image index",
            default="linux/amd64",
            enum=("linux/amd64", "linux/arm64"),
        ),  # fmt: skip
    )
)

DEPLOY_PARAMS = ParamSet(
    (
        *BUILD_PARAMS,
        Param("namespace", "Kubernetes namespace of the release", check=dns_label),
        Param("strategy", "Release strategy", default=DEFAULT_STRATEGY, enum=STRATEGIES),
        Param("chart-repo", "Git URL of the chart repository (Gitea)", check=GIT_URL),
        Param("chart-ref", "Branch, tag or commit of the chart", default="main", check=GIT_REF),
        Param(
            "chart-path",
            "Path of the chart inside the repository",
            default="charts/app",
            check=CHART_PATH,
        ),  # fmt: skip
        Param("replicas", "Desired replicas", default="2", check=_int_range(0, 1000)),
        Param("values", "Extra Helm values as a JSON object", default="{}", check=_json_object),
        Param(
            "analysis",
            "The app's canary analysis as a JSON object (rollway.analysis.config): Rollway's "
            "judge after each canary weight step, or before a blue-green switch; empty: the "
            "release is not judged",
            default="",
            check=_empty_or(_json_object),
        ),  # fmt: skip
        Param(
            "approval-required",
            "Whether the release waits for its approvals (enforced by the API server): at the "
            "Rollout's pause, or before apply when it would not pause",
            default="false",
            enum=("true", "false"),
        ),  # fmt: skip
        Param(
            "first-release",
            "Whether nothing of the app serves in the environment yet: with approval required, "
            "its approval comes before apply (a first Rollout does not pause)",
            default="false",
            enum=("true", "false"),
        ),  # fmt: skip
        Param(
            "rollout-timeout",
            "Seconds to wait for the rollout at each stage",
            default="900",
            check=_int_range(10, 86400),
        ),  # fmt: skip
    )
)

#: Each of Rollway's templates by name: what `rollway.pipeline.validate_arguments` checks.
PARAMS = {BUILD_TEMPLATE: BUILD_PARAMS, DEPLOY_TEMPLATE: DEPLOY_PARAMS}
