"""The canary judge against a fixed-threshold analysis, on samples the devstack's Prometheus
recorded from real pods of the sample app (the live canary tests leave them there).

What it measures now, offline on those recordings:
- false aborts on identical code: every pair of good revisions (hello 1.0.0 and 1.1.0, the same
  code), judged against each other by Rollway's judge, and each judged alone by the fixed
  thresholds an Argo Rollouts `prometheus` analysis would use (error rate <= 1%, p99 <= 10 ms,
  any failed measurement fails, Argo's default failureLimit 0);
- detection: each bad revision (hello 1.0.1) against the good one it was released over.

Not yet here: the live race of the two analyses on the same rollout (time from the bad canary's
start to the abort, and to the pass of a good one).

    .venv/bin/python bench/canary_judge.py [--hours 6]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devstack.components.prometheus import Prometheus  # noqa: E402
from devstack.stack import Context  # noqa: E402
from rollway.analysis import AnalysisConfig, judge  # noqa: E402
from rollway.analysis.prometheus import selector, side_samples  # noqa: E402

WINDOW = 60  # seconds of each revision's recording, after its warm-up
THRESHOLDS = {"error-rate": 0.01, "latency-p99": 0.010}

Samples = dict[str, list[float]]


def revisions(client: httpx.Client, hours: float) -> dict[tuple[str, str], tuple[float, bool]]:
    """(namespace, hash) → (time of its last sample, whether it ever answered 5xx)."""
    end = time.time()
    found: dict[tuple[str, str], tuple[float, bool]] = {}
    query = 'max by (namespace, rollouts_pod_template_hash) (timestamp(http_server_requests_total{app="hello"}))'
    bad = 'max by (namespace, rollouts_pod_template_hash) (http_server_requests_total{app="hello",code=~"5.."})'
    params = {"start": end - hours * 3600, "end": end, "step": 15}
    last = client.get("/api/v1/query_range", params={**params, "query": query}).json()
    failing = client.get("/api/v1/query_range", params={**params, "query": bad}).json()
    bad_keys = {_key(r) for r in failing["data"]["result"]}
    for row in last["data"]["result"]:
        stamp = max(float(v) for _, v in row["values"])
        found[_key(row)] = (stamp, _key(row) in bad_keys)
    return found


def _key(row: dict[str, dict[str, str]]) -> tuple[str, str]:
    labels = row["metric"]
    return labels.get("namespace", ""), labels.get("rollouts_pod_template_hash", "")


def recording(
    client: httpx.Client, config: AnalysisConfig, key: tuple[str, str], last: float
) -> Samples:
    return side_samples(client, config, selector(*key), last - WINDOW, last)


def threshold_fails(samples: Samples) -> bool:
    """What a fixed-threshold analysis decides: any measurement over its threshold fails."""
    return any(v > limit for name, limit in THRESHOLDS.items() for v in samples.get(name, []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    config = AnalysisConfig()
    with httpx.Client(base_url=Prometheus().endpoint(Context.load()), timeout=30) as client:
        found = revisions(client, args.hours)
        recorded = {k: recording(client, config, k, last) for k, (last, _) in found.items()}
    recorded = {k: s for k, s in recorded.items() if all(len(v) >= 4 for v in s.values()) and s}
    good = sorted(k for k in recorded if not found[k][1])
    bad = sorted(k for k in recorded if found[k][1])
    pairs = list(itertools.permutations(good, 2))
    if not pairs:
        raise SystemExit("no recordings of good revisions: run tests/integration/analysis first")
    judge_aborts = sum(judge(config, recorded[a], recorded[b]).verdict == "fail" for a, b in pairs)
    judge_holds = sum(judge(config, recorded[a], recorded[b]).verdict != "pass" for a, b in pairs)
    threshold_aborts = sum(threshold_fails(recorded[k]) for k in good)
    print(f"identical code: {len(good)} good revisions, {len(pairs)} ordered pairs")
    print(
        f"  judge false aborts      {judge_aborts}/{len(pairs)} = {judge_aborts / len(pairs):.1%}"
        f" (not passed: {judge_holds})"
    )
    print(
        f"  threshold false aborts  {threshold_aborts}/{len(good)} = "
        f"{threshold_aborts / len(good):.1%}"
    )
    caught_judge = caught_threshold = 0
    for key in bad:
        baselines = [g for g in good if g[0] == key[0]]
        if baselines:
            caught_judge += judge(config, recorded[key], recorded[baselines[0]]).verdict == "fail"
            caught_threshold += threshold_fails(recorded[key])
    judged_bad = sum(1 for k in bad if any(g[0] == k[0] for g in good))
    if judged_bad:
        print(f"bad release (hello 1.0.1): {judged_bad} recorded against their baseline")
        print(f"  judge caught      {caught_judge}/{judged_bad}")
        print(f"  threshold caught  {caught_threshold}/{judged_bad}")


if __name__ == "__main__":
    main()
