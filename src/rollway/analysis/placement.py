"""Where Rollway's judge goes in a rendered release: its AnalysisTemplate beside the Rollout, and
the Rollout's strategy calling it — after every canary weight step below 100%, or before a
blue-green switch. Done on the rendered manifests rather than through chart values, so any team
chart that renders a Rollout gets the judge, and what is approved (the manifests' hash) is what
judges.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from .template import JudgeClient, judge_step, judge_template

API_VERSION = "argoproj.io/v1alpha1"
#: The Secret, in each namespace whose releases are judged, holding the judge client's secret:
#: an admin provisions it with the namespace (docs/security.md, "The canary judge").
SECRET = "rollway-judge"
DEFAULT_CLIENT_ID = "rollway-judge"


@dataclasses.dataclass(frozen=True)
class JudgeSettings:
    """How the Argo Rollouts controller reaches the judge: the API server's URL as the
    controller resolves it, and the Keycloak client it authenticates as."""

    api_url: str
    client: JudgeClient

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> JudgeSettings:
        """From the platform settings a step gets (ROLLWAY_JUDGE_URL, else the callback URL;
        Keycloak's URL and realm; ROLLWAY_JUDGE_CLIENT_ID)."""
        api_url = env.get("ROLLWAY_JUDGE_URL") or env.get("ROLLWAY_CALLBACK_URL")
        keycloak, realm = env.get("ROLLWAY_KEYCLOAK_URL"), env.get("ROLLWAY_KEYCLOAK_REALM")
        if not api_url or not keycloak or not realm:
            raise InvalidInput(
                "the platform names no judge: set judge-url (or callback-url), keycloak-url "
                "and keycloak-realm in the rollway-platform ConfigMap",
                field="analysis",
            )
        token_url = f"{keycloak.rstrip('/')}/realms/{realm}/protocol/openid-connect/token"
        client_id = env.get("ROLLWAY_JUDGE_CLIENT_ID") or DEFAULT_CLIENT_ID
        return cls(api_url.rstrip("/"), JudgeClient(token_url, client_id, SECRET))


def attach(
    manifests: list[dict[str, Any]], *, app: str, env: str, window_seconds: int,
    settings: JudgeSettings,
) -> list[dict[str, Any]]:  # fmt: skip
    """The manifests with the judge in: a new AnalysisTemplate `<rollout>-rollway-judge`, and
    the Rollout (a copy) calling it. InvalidInput when the chart renders no single Rollout or a
    canary with no weight step to judge."""
    rollouts = [i for i, m in enumerate(manifests) if m.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise InvalidInput(
            f"the chart renders {len(rollouts)} Rollouts; the judge needs exactly one",
            field="analysis",
        )
    index = rollouts[0]
    rollout = copy.deepcopy(manifests[index])
    metadata = rollout.get("metadata") or {}
    name = f"{metadata.get('name') or app}-rollway-judge"
    entry = judge_template(api_url=settings.api_url, app=app, env=env, client=settings.client,
                           window_seconds=window_seconds, name=name)  # fmt: skip
    template_metadata: dict[str, Any] = {"name": name, "labels": dict(metadata.get("labels") or {})}
    if "namespace" in metadata:
        template_metadata["namespace"] = metadata["namespace"]
    template = {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": template_metadata,
        "spec": {"args": entry["args"], "metrics": entry["metrics"]},
    }
    _call_judge(rollout.setdefault("spec", {}).setdefault("strategy", {}), name)
    placed = list(manifests)
    placed[index] = rollout
    placed.insert(index, template)  # before the Rollout: it exists when the first step runs
    return placed


def _call_judge(strategy: dict[str, Any], name: str) -> None:
    step = judge_step(name)
    if "blueGreen" in strategy:
        before = strategy["blueGreen"].get("prePromotionAnalysis") or {}
        strategy["blueGreen"]["prePromotionAnalysis"] = {
            **before,
            "templates": [*(before.get("templates") or []), *step["templates"]],
            "args": [*(before.get("args") or []), *step["args"]],
        }
        return
    canary = strategy.get("canary")
    steps = (canary or {}).get("steps") or []
    judged: list[dict[str, Any]] = []
    for item in steps:
        judged.append(item)
        weight = item.get("setWeight") if isinstance(item, dict) else None
        if isinstance(weight, int) and 0 < weight < 100:
            judged.append({"analysis": step})
    if canary is None or len(judged) == len(steps):
        raise InvalidInput(
            "the judge runs after a canary's setWeight steps below 100 (or before a "
            "blue-green switch); this release has none",
            field="analysis",
        )
    canary["steps"] = judged
