"""Where Rollway's judge goes in a rendered release: its AnalysisTemplate beside the Rollout, and
the Rollout's strategy calling it — after every canary weight step below 100%, or before a
blue-green switch. Done on the rendered manifests rather than through chart values, so any team
chart that renders a Rollout gets the judge, and what is approved (the manifests' hash) is what
judges.

A canary is judged against a fair baseline by default: each judged step is an Argo Rollouts
experiment starting one pod of the stable version and one of the canary's together, and the judge
compares those two (Kayenta's model), so a cold JVM is never measured against a warm one. With
`baseline: stable`, and always for blue-green (which has no experiment step), the canary is
compared with the running stable pods, its warm-up left out.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from ..pipeline import TRAFFIC
from .config import AnalysisConfig, Traffic, baseline_of
from .template import JudgeClient, experiment_step, judge_step, judge_template

API_VERSION = "argoproj.io/v1alpha1"
#: The Secret, in each namespace whose releases are judged, holding the judge client's secret:
#: an admin provisions it with the namespace (docs/security.md, "The canary judge").
SECRET = "rollway-judge"
DEFAULT_CLIENT_ID = "rollway-judge"
#: The experiment's Services are named after its ReplicaSets, `<rollout>-<hash>-<revision>-
#: <step>-baseline`: room for the rest within a 63-character DNS label.
MAX_EXPERIMENT_ROLLOUT_NAME = 36


@dataclasses.dataclass(frozen=True)
class JudgeSettings:
    """How the Argo Rollouts controller reaches the judge: the API server's URL as the
    controller resolves it, and the Keycloak client it authenticates as."""

    api_url: str
    client: JudgeClient
    #: Rollway's image, which the traffic Job runs (only an analysis with `traffic` needs it).
    step_image: str | None = None

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
        client = JudgeClient(token_url, client_id, SECRET)
        return cls(api_url.rstrip("/"), client, env.get("ROLLWAY_STEP_IMAGE") or None)


def attach(
    manifests: list[dict[str, Any]], *, app: str, env: str, config: AnalysisConfig,
    settings: JudgeSettings,
) -> list[dict[str, Any]]:  # fmt: skip
    """The manifests with the judge in: a new AnalysisTemplate `<rollout>-rollway-judge` (with
    the traffic Job beside the judge where the analysis asks for traffic), and the Rollout (a
    copy) calling it. InvalidInput when the chart renders no single Rollout or a canary with no
    weight step to judge."""
    rollouts = [i for i, m in enumerate(manifests) if m.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise InvalidInput(
            f"the chart renders {len(rollouts)} Rollouts; the judge needs exactly one",
            field="analysis",
        )
    index = rollouts[0]
    rollout = copy.deepcopy(manifests[index])
    metadata = rollout.get("metadata") or {}
    rollout_name = metadata.get("name") or app
    name = f"{rollout_name}-rollway-judge"
    window = config.window_seconds
    strategy = rollout.setdefault("spec", {}).setdefault("strategy", {})
    fresh = _fresh_baseline(strategy, config)
    entry = judge_template(api_url=settings.api_url, app=app, env=env, client=settings.client,
                           window_seconds=window, name=name)  # fmt: skip
    if config.traffic is not None:
        if fresh:
            urls = _experiment_urls(rollout, rollout_name, config.traffic)
            entry["args"] += [{"name": "baseline-service"}, {"name": "canary-service"}]
        else:
            urls = _side_urls(manifests, rollout, config.traffic)
        entry["metrics"].append(_traffic_metric(rollout, urls, config.traffic, window, settings))
    template_metadata: dict[str, Any] = {"name": name, "labels": dict(metadata.get("labels") or {})}
    if "namespace" in metadata:
        template_metadata["namespace"] = metadata["namespace"]
    template = {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": template_metadata,
        "spec": {"args": entry["args"], "metrics": entry["metrics"]},
    }
    if fresh:
        services = config.traffic is not None
        call = {"experiment": experiment_step(name, rollout_name, with_services=services)}
    else:
        call = {"analysis": judge_step(name)}
    _call_judge(strategy, call)
    placed = list(manifests)
    placed[index] = rollout
    placed.insert(index, template)  # before the Rollout: it exists when the first step runs
    return placed


def _fresh_baseline(strategy: dict[str, Any], config: AnalysisConfig) -> bool:
    """Whether the judged steps are experiments (baseline_of)."""
    fresh = baseline_of(config, canary="canary" in strategy) == "fresh"
    if fresh and "canary" not in strategy:
        raise InvalidInput(
            "a fresh baseline needs a canary's experiment step; blue-green compares with the "
            'running stable pods (baseline: "stable")',
            field="analysis.baseline",
        )
    return fresh


def _call_judge(strategy: dict[str, Any], call: dict[str, Any]) -> None:
    if "blueGreen" in strategy:
        step = call["analysis"]
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
            judged.append(copy.deepcopy(call))
    if canary is None or len(judged) == len(steps):
        raise InvalidInput(
            "the judge runs after a canary's setWeight steps below 100 (or before a "
            "blue-green switch); this release has none",
            field="analysis",
        )
    canary["steps"] = judged


def _experiment_urls(rollout: dict[str, Any], name: str, traffic: Traffic) -> list[str]:
    """The experiment's two Services (baseline first), which serve the pod's first container
    port; their names are the experiment's arguments."""
    if len(name) > MAX_EXPERIMENT_ROLLOUT_NAME:
        raise InvalidInput(
            f"the Rollout's name has {len(name)} characters; the experiment's Services need it "
            f'at most {MAX_EXPERIMENT_ROLLOUT_NAME} (or baseline: "stable")',
            field="analysis.traffic",
        )
    pod = rollout.get("spec", {}).get("template", {}).get("spec", {})
    ports = (pod.get("containers") or [{}])[0].get("ports") or [{}]
    port = ports[0].get("containerPort")
    if not isinstance(port, int):
        raise InvalidInput(
            "traffic to a fresh baseline needs the Rollout's first container to declare a "
            "containerPort (the experiment's Services serve it)",
            field="analysis.traffic",
        )
    return [f"http://{{{{args.{side}-service}}}}:{port}{traffic.path}"
            for side in ("baseline", "canary")]  # fmt: skip


def _side_urls(
    manifests: list[dict[str, Any]], rollout: dict[str, Any], traffic: Traffic
) -> list[str]:
    """Both sides' Services by name (the pod's namespace resolves them), stable first."""
    strategy = rollout.get("spec", {}).get("strategy", {})
    sides = (
        ("activeService", "previewService") if "blueGreen" in strategy
        else ("stableService", "canaryService")
    )  # fmt: skip
    named = strategy.get("blueGreen") or strategy.get("canary") or {}
    services = {
        (m.get("metadata") or {}).get("name"): m for m in manifests if m.get("kind") == "Service"
    }
    urls = []
    for side in sides:
        service = services.get(named.get(side))
        if service is None:
            raise InvalidInput(
                f"traffic goes to the Rollout's {side}, which the chart does not render",
                field="analysis.traffic",
            )
        ports = (service.get("spec") or {}).get("ports") or [{}]
        port = ports[0].get("port", 80)
        urls.append(f"http://{service['metadata']['name']}:{port}{traffic.path}")
    return urls


def _traffic_metric(
    rollout: dict[str, Any], urls: list[str], traffic: Traffic, window: int,
    settings: JudgeSettings,
) -> dict[str, Any]:  # fmt: skip
    """A `job` metric running `rollway-step load` for the window, where the app's pods run,
    under the restricted Pod Security Standard and with no service-account token."""
    if not settings.step_image:
        raise InvalidInput(
            "traffic needs Rollway's image: set step-image in the rollway-platform ConfigMap",
            field="analysis.traffic",
        )
    pod = rollout.get("spec", {}).get("template", {}).get("spec", {})
    placement = {k: pod[k] for k in ("nodeSelector", "tolerations", "affinity") if k in pod}
    args = [a for url in urls for a in ("--url", url)]
    args += ["--rate", f"{traffic.requests_per_second:g}", "--duration", str(window)]
    container = {
        "name": "traffic",
        "image": settings.step_image,
        "command": ["rollway-step", TRAFFIC],
        "args": args,
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"},
                      "limits": {"memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
    }  # fmt: skip
    return {
        "name": "traffic",
        "count": 1,
        "provider": {"job": {"spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": window + 120,
            "template": {"spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "securityContext": {"runAsNonRoot": True,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                **placement,
                "containers": [container],
            }},
        }}},
    }  # fmt: skip
