"""The live race of bench/canary_judge.py: hello released three times side by side in one
namespace on the real node, every update made to all Rollouts at once under the same traffic —

- `judged`: its canary step runs Rollway's judge (`rollway.analysis.template`, a `web` metric
  calling the API server as the platform's `rollway-judge` client) once, after the window,
  comparing the canary with the running stable pods (`baseline: stable`);
- `fresh`: the same judge in an experiment step, comparing one pod of the stable version and
  one of the canary's started together (`baseline: fresh`, Rollway's default for a canary);
- `fixed`: its canary step runs what a typical Argo Rollouts `prometheus` analysis does — the
  canary's error rate and p99 (the judge's own queries, on the canary's pods alone) against fixed
  thresholds, measured every 10 s over the same window, the first failed measurement aborting
  (failureLimit 0) —

and each Rollout watched until it ends: promoted, aborted, or held for a human (the judge's
marginal or inconclusive verdict). Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, cast

from kubernetes import client

from devstack.hello_pods import SCRAPED, pod_spec
from rollway.analysis import BUILTIN
from rollway.analysis.config import SELECTOR
from rollway.analysis.template import JudgeClient, experiment_step, judge_step, judge_template
from rollway.rollouts import RolloutsClient, rollout_phase
from rollway.rollouts.verdicts import owned_runs

GROUP, VERSION = "argoproj.io", "v1alpha1"
JUDGED, FRESH, FIXED = "hello-judged", "hello-fresh", "hello-fixed"
STABLE, BAD, GOOD = "1.0.0", "1.0.1", "1.1.0"
#: What the fixed-threshold analysis allows the canary, whatever the baseline does.
THRESHOLDS = {"error-rate": 0.01, "latency-p99": 0.010}
INTERVAL = 10  # seconds between two measurements of a fixed threshold
RELEASE = "example.com/release"  # a new value: a new revision, even of the same version
POLL = 0.5


@dataclasses.dataclass
class Side:
    """One of the Rollouts, and the template (version, release) its stable pods run."""

    name: str
    step: dict[str, Any]  # the canary's step after setWeight: an analysis or an experiment
    stable: tuple[str, int] = (STABLE, 0)

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/instance": self.name}

    def services(self) -> tuple[str, str]:
        return f"{self.name}-stable", f"{self.name}-canary"

    def sent_to(self) -> list[str]:
        """The Services traffic goes to. An experiment's pods are in no Rollout Service, so the
        fresh side's traffic goes to one selecting all its pods, twice over (a fair share each
        for the two experiment pods among the four)."""
        if "experiment" in self.step:
            return [f"{self.name}-all", f"{self.name}-all"]
        return list(self.services())


@dataclasses.dataclass(frozen=True)
class Outcome:
    end: str  # promoted | aborted | held | timed out
    seconds: float  # from the update to the end
    detail: str  # why, as the AnalysisRun recorded it


def judge_analysis(api_url: str, app: str, token_url: str, window: int) -> dict[str, Any]:
    judge = judge_template(
        api_url=api_url, app=app, env="dev", window_seconds=window,
        client=JudgeClient(token_url=token_url, client_id="rollway-judge",
                           secret_name="rollway-judge"),
    )  # fmt: skip
    return analysis_template(judge["name"], judge["args"], judge["metrics"])


def fixed_analysis(prometheus: str, namespace: str, window: int) -> dict[str, Any]:
    """The canary alone against THRESHOLDS. A NaN (no request in the rate's range) passes, as
    Argo's documentation advises; an empty result is an Error, which the controller retries."""
    side = f'namespace="{namespace}",rollouts_pod_template_hash="{{{{args.canary-hash}}}}"'
    metrics = [
        {"name": name, "interval": f"{INTERVAL}s", "count": window // INTERVAL + 1,
         "failureLimit": 0, "successCondition": f"isNaN(result[0]) || result[0] <= {limit}",
         "provider": {"prometheus": {"address": prometheus,
                                     "query": BUILTIN[name].query.replace(SELECTOR, side)}}}
        for name, limit in THRESHOLDS.items()
    ]  # fmt: skip
    return analysis_template("fixed-thresholds", [{"name": "canary-hash"}], metrics)


def analysis_template(name: str, args: list[Any], metrics: list[Any]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AnalysisTemplate",
            "metadata": {"name": name}, "spec": {"args": args, "metrics": metrics}}  # fmt: skip


def sides(judge: dict[str, Any], fixed: dict[str, Any]) -> list[Side]:
    """The judged Rollouts (against stable pods, against fresh ones) and the fixed one."""
    canary_hash = {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}
    fixed_step = {"templates": [{"templateName": fixed["metadata"]["name"]}], "args": [canary_hash]}
    name = judge["metadata"]["name"]
    return [Side(JUDGED, {"analysis": judge_step(name)}),
            Side(FRESH, {"experiment": experiment_step(name, FRESH, with_services=False)}),
            Side(FIXED, {"analysis": fixed_step})]  # fmt: skip


def pod_template(side: Side, version: str, release: int) -> dict[str, Any]:
    annotations = {**SCRAPED, RELEASE: str(release)}
    return {"metadata": {"labels": side.labels, "annotations": annotations},
            "spec": pod_spec(version)}  # fmt: skip


def rollout(side: Side) -> dict[str, Any]:
    stable, canary = side.services()
    steps = [{"setWeight": 50}, side.step]
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Rollout", "metadata": {"name": side.name},
        "spec": {"replicas": 2, "selector": {"matchLabels": side.labels},
                 "template": pod_template(side, *side.stable),
                 "strategy": {"canary": {"stableService": stable, "canaryService": canary,
                                         "steps": steps}}},
    }  # fmt: skip


def service(side: Side, name: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"selector": side.labels, "ports": [{"port": 8080, "targetPort": 8080}]}}  # fmt: skip


class Race:
    """The Rollouts of one namespace, updated together and watched to their ends."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.namespace, self.rollouts = namespace, RolloutsClient(api)
        self.custom = client.CustomObjectsApi(api)
        self.release = 0

    def update(self, sides: list[Side], version: str, timeout: float) -> dict[str, Outcome]:
        """Both sides to a new revision of `version`; each one's end, timed from its patch."""
        self.release += 1
        started: dict[str, tuple[float, str]] = {}
        for side in sides:
            old = self.rollouts.read(self.namespace, side.name)["status"]["stableRS"]
            self._template(side, version, self.release)
            started[side.name] = (time.monotonic(), old)
        outcomes: dict[str, Outcome] = {}
        while len(outcomes) < len(sides):
            for side in sides:
                if side.name in outcomes:
                    continue
                since, old = started[side.name]
                end = self._end(self.rollouts.read(self.namespace, side.name), old)
                if end is None and time.monotonic() - since > timeout:
                    end = "timed out"
                if end is not None:
                    elapsed = time.monotonic() - since
                    outcomes[side.name] = Outcome(end, elapsed, self._why(side.name))
                    if end == "promoted":
                        side.stable = (version, self.release)
            time.sleep(POLL)
        return outcomes

    def restore(self, sides: list[Side], timeout: float = 120) -> None:
        """Back to each side's stable template (a rollback the controller makes at once)."""
        for side in sides:
            self._template(side, *side.stable)
        self.settled(sides, timeout)

    def reset(self, sides: list[Side], timeout: float = 180) -> None:
        """Each side on STABLE again, without analysis (`promote --full`), for the next run."""
        moved = [side for side in sides if side.stable[0] != STABLE]
        self.release += 1
        for side in moved:
            self._template(side, STABLE, self.release)
            self._wait(lambda side=side: self._observed(side.name))
            self.rollouts.promote(self.namespace, side.name, full=True)
            side.stable = (STABLE, self.release)
        self.settled(moved, timeout)

    def _template(self, side: Side, version: str, release: int) -> None:
        patch = {"spec": {"template": pod_template(side, version, release)}}
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "rollouts", side.name, patch
        )

    def settled(self, sides: list[Side], timeout: float) -> None:
        """Healthy on the stable template, every side."""
        deadline = time.monotonic() + timeout
        for side in sides:
            self._wait(lambda side=side: self._healthy(side.name), deadline)

    def _observed(self, name: str) -> bool:
        ro = self.rollouts.read(self.namespace, name)
        status = ro.get("status") or {}
        return str(status.get("observedGeneration")) == str(ro["metadata"]["generation"])

    def _healthy(self, name: str) -> bool:
        ro = self.rollouts.read(self.namespace, name)
        status = ro.get("status") or {}
        phase, _ = rollout_phase(ro)
        return phase == "Healthy" and status.get("stableRS") == status.get("currentPodHash")

    @staticmethod
    def _wait(check: Any, deadline: float | None = None) -> None:
        deadline = deadline if deadline is not None else time.monotonic() + 60
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit("a Rollout did not settle in time; see kubectl argo rollouts get")
            time.sleep(POLL)

    @staticmethod
    def _end(ro: dict[str, Any], old_stable: str) -> str | None:
        phase, _ = rollout_phase(ro)
        status = ro.get("status") or {}
        if phase == "Degraded":
            return "aborted"
        current = status.get("currentPodHash")
        if phase == "Healthy" and status.get("stableRS") == current != old_stable:
            return "promoted"
        run = (status.get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
        paused_by = {c.get("reason") for c in status.get("pauseConditions") or ()}
        if phase == "Paused" and (
            run.get("status") == "Inconclusive" or "InconclusiveExperiment" in paused_by
        ):
            return "held"
        return None

    def _why(self, name: str) -> str:
        """What the newest AnalysisRun of the Rollout measured: the judge's line, or each
        threshold's measurements."""
        listed = cast(
            dict[str, Any],
            self.custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "analysisruns"
            ),
        )
        runs = owned_runs(listed["items"], name)
        if not runs:
            return ""
        newest = runs[0]
        parts = []
        for metric in newest.get("status", {}).get("metricResults", []):
            values = [m.get("value", m.get("phase", "")) for m in metric.get("measurements", [])]
            if metric["name"] == "judge" and values:
                parts.append(_reason(values[-1]))
            else:
                shown = ", ".join(_short(v) for v in values)
                parts.append(f"{metric['name']} {metric.get('phase', '')}: [{shown}]")
        return "; ".join(parts)


def _reason(value: str) -> str:
    """The judge's line from its measurement (a phase when it did not answer)."""
    try:
        return str(json.loads(value).get("reason", value))
    except (ValueError, AttributeError):
        return value


def _short(value: str) -> str:
    """`[0.0123]` as 0.012."""
    try:
        return f"{float(value.strip('[]')):.3g}"
    except ValueError:
        return value
