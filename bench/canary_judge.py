"""Benchmark: Rollway's canary judge against a fixed-threshold analysis, on the real node.

Live (`--runs N`, each run three updates): hello released three times side by side in one
namespace (bench/_canary_race.py), one Rollout judged by Rollway's judge against its running
stable pods (a `web` metric calling a `rollway-apiserver` started here, as the platform's
`rollway-judge` client), one by the same judge in an experiment against a fresh stable pod
started with a fresh canary pod (Rollway's default), the third by the fixed thresholds a typical
Argo Rollouts `prometheus` analysis has (the canary's error rate <= 1% and p99 <= 10 ms,
measured every 10 s over the same 90 s window, failureLimit 0); each a canary of 2 replicas
(setWeight 50, then the analysis or experiment), all updated at the same moment, under the same
traffic (`rollway-step load`, 10 GETs a second to each Rollout's stable and canary Services —
the fresh side's to one Service of all its pods, at twice that — stopping by itself). Each run
releases, on stable 1.0.0:
- 1.0.0 again with a changed annotation (identical code): does either abort it?
- the bad release 1.0.1 (a fifth of its answers 500, 40 ms slower): the time from the update
  to the abort;
- the good release 1.1.0 (the same code as 1.0.0): the time from the update to the promotion.

Offline, on every recording the devstack's Prometheus kept of hello's revisions (the live runs'
among them): every ordered pair of good revisions judged against each other by the judge, each
judged alone by the same fixed thresholds; each bad revision against the good one it was
released over.

Prints each update's end, the medians and the ratios judge/fixed; asserts nothing.

Measured in one run (`--runs 3`, about 6 minutes a run) on this 2-core machine, at a load
average of 8 (other work shared it), before the fresh side joined the race (its column has no
figures yet; tests/e2e/test_e2e_real_pods_analysis.py shows it aborting 1.0.1 and promoting 1.1.0):
- bad 1.0.1: both aborted it 3/3; the judge after 92 s (its 90 s window), the thresholds after
  22 s (their first measurement with data), 4.1x sooner;
- good 1.1.0: the judge promoted it 3/3 after 95 s; the thresholds 1/3, after 114 s (0.84x);
- false aborts on identical code (1.0.0 again, and 1.1.0): judge 0/6, thresholds 4/6, each
  time on the canary's p99 (24-63 ms) in the first 40 s of its analysis, which the judge's
  30 s warm-up leaves out; where the thresholds passed, p99 stayed at 5-9 ms, just under 10;
- offline, on 13 recorded good revisions: judge 0/156 ordered pairs aborted (16 not passed:
  marginal or inconclusive), thresholds 8/13 aborted.

    .venv/bin/python bench/canary_judge.py [--runs 1] [--hours 6]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from keycloak import KeycloakOpenID
from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._apiserver import BIN, start_server  # noqa: E402
from bench._canary_race import (  # noqa: E402
    BAD,
    FIXED,
    FRESH,
    GOOD,
    JUDGED,
    STABLE,
    THRESHOLDS,
    Outcome,
    Race,
    Side,
    fixed_analysis,
    judge_analysis,
    rollout,
    service,
    sides,
)
from devstack.cli import exports  # noqa: E402
from devstack.components.pod_security import admin_namespace  # noqa: E402
from devstack.components.prometheus import Prometheus  # noqa: E402
from devstack.hello_pods import jar_config_map  # noqa: E402
from devstack.projects import demo_projects  # noqa: E402
from devstack.stack import Context, up  # noqa: E402
from rollway.analysis import AnalysisConfig, judge  # noqa: E402
from rollway.analysis.prometheus import selector, side_samples  # noqa: E402
from rollway.kube.client import load_api  # noqa: E402

PARTS = ["prometheus", "argo-rollouts", "kube-proxy", "keycloak", "maven", "registry", "git"]
WINDOW = 60  # seconds of each revision's recording, after its warm-up
LIVE_WINDOW = AnalysisConfig().window_seconds  # the judge's default; the thresholds' too
RATE = 10  # GETs a second to each Service URL (the fresh side's listed twice)
#: Seconds an update may take to end (the window, the pods' start, the judge's answer).
UPDATE_LIMIT = LIVE_WINDOW + 240
UPDATES = (("identical", STABLE), ("bad", BAD), ("good", GOOD))
APP, PROJECT, ADMIN = "hello", "hello", "dave"

Samples = dict[str, list[float]]
Ends = dict[str, list[dict[str, Outcome]]]  # update → one {side: outcome} per run


def live(ctx: Context, runs: int) -> Ends:
    """The race, `runs` times each update, in a namespace of its own (deleted afterwards)."""
    base = {**os.environ, **exports(ctx)}
    namespace = f"bench-judge-{uuid.uuid4().hex[:6]}"
    projects = demo_projects(base["ROLLWAY_CHART_REPO"])
    for project in projects:  # the platform admin's part: the project may use the namespace
        if project["name"] == PROJECT:
            project["guardrails"]["namespaces"].append(namespace)
    ends: Ends = {update: [] for update, _ in UPDATES}
    api = load_api(base["KUBECONFIG"])
    with tempfile.TemporaryDirectory(prefix="rollway-bench-") as tmp:
        server, url = start_server(
            {**base, "ROLLWAY_BOOTSTRAP_PROJECTS": json.dumps(projects)}, Path(tmp)
        )
        try:
            admin_namespace(ctx, namespace)
            register(url, base, namespace)
            race, both, urls = prepare(api, base, namespace, url)
            for run in range(runs):
                race.reset(both)
                for update, version in UPDATES:
                    with traffic(urls, Path(tmp) / "load.log"):
                        outcomes = race.update(both, version, UPDATE_LIMIT)
                    race.restore(both)
                    ends[update].append(outcomes)
                    for side, outcome in outcomes.items():
                        print(f"run {run + 1} {update:<9} {side:<12} {outcome.end:<9} "
                              f"{outcome.seconds:6.1f}s  {outcome.detail}", file=sys.stderr)  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
            with contextlib.suppress(ApiException):
                CoreV1Api(api).delete_namespace(namespace)
    return ends


def register(url: str, env: dict[str, str], namespace: str) -> None:
    """hello, its dev environment in `namespace`, registered by the platform admin."""
    keycloak = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"],
                              realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
                              client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip
    token = keycloak.token(ADMIN, env["DEVSTACK_USER_PASSWORD"])["access_token"]
    spec = {"name": APP, "project": PROJECT, "artifact": "com.example:hello",
            "environments": [{"name": "dev", "namespace": namespace}],
            "chart": {"repo": env["ROLLWAY_CHART_REPO"], "path": "charts/app", "ref": "main"}}  # fmt: skip
    answer = httpx.post(f"{url}/api/v1/apps", json=spec, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    if answer.status_code != 201:
        sys.exit(f"registering {APP}: {answer.status_code} {answer.text}")


def prepare(
    api: ApiClient, env: dict[str, str], namespace: str, api_url: str
) -> tuple[Race, list[Side], list[str]]:
    """The jars, the judge's secret, both AnalysisTemplates, Services and Rollouts on STABLE,
    Healthy and answering; returns the race, its sides and the URLs traffic goes to."""
    core, custom = CoreV1Api(api), CustomObjectsApi(api)
    for version in (STABLE, BAD, GOOD):
        core.create_namespaced_config_map(namespace, jar_config_map(env, version))
    core.create_namespaced_secret(namespace, {"metadata": {"name": "rollway-judge"},
                                              "stringData": {"client-secret": env["ROLLWAY_JUDGE_CLIENT_SECRET"]}})  # fmt: skip
    realm = f"{env['ROLLWAY_KEYCLOAK_URL']}/realms/{env['ROLLWAY_KEYCLOAK_REALM']}"
    token_url = f"{realm}/protocol/openid-connect/token"
    templates = (judge_analysis(api_url, APP, token_url, LIVE_WINDOW),
                 fixed_analysis(env["ROLLWAY_PROMETHEUS_URL"], namespace, LIVE_WINDOW))  # fmt: skip
    for template in templates:
        custom.create_namespaced_custom_object(
            "argoproj.io", "v1alpha1", namespace, "analysistemplates", template
        )
    both = sides(*templates)
    urls = []
    for side in both:
        addresses = {}
        for name in {*side.services(), *side.sent_to()}:
            created = core.create_namespaced_service(namespace, service(side, name))
            addresses[name] = f"http://{created.spec.cluster_ip}:8080/"
        urls += [addresses[name] for name in side.sent_to()]
        custom.create_namespaced_custom_object(
            "argoproj.io", "v1alpha1", namespace, "rollouts", rollout(side)
        )
    race = Race(api, namespace)
    race.settled(both, timeout=240)
    for url in urls:  # kube-proxy has programmed the Services
        deadline = time.monotonic() + 60
        while not answers(url):
            if time.monotonic() > deadline:
                sys.exit(f"{url} does not answer")
            time.sleep(0.5)
    return race, both, urls


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def traffic(urls: list[str], log: Path) -> Iterator[None]:
    """Rollway's own traffic Job, run here: RATE GETs a second to each URL, for at most the
    update's limit."""
    command = [str(BIN / "rollway-step"), "load", "--rate", str(RATE),
               "--duration", str(UPDATE_LIMIT)] + [a for u in urls for a in ("--url", u)]  # fmt: skip
    with log.open("ab") as out:
        sender = subprocess.Popen(command, stdout=out, stderr=out)
        try:
            yield
        finally:
            sender.terminate()
            sender.wait(timeout=30)


def report_live(ends: Ends, runs: int) -> None:
    print(f"\nLive race, {runs} run(s) on the real node, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; judge window {LIVE_WINDOW} s, thresholds "
          f"{', '.join(f'{k} <= {v:g}' for k, v in THRESHOLDS.items())}")  # fmt: skip
    print(f"{'':<42}{'judge':>16}{'judge, fresh':>16}{'fixed':>16}{'judge/fixed':>13}")
    rows = (("bad 1.0.1: time to abort", "bad", "aborted"),
            ("good 1.1.0: time to promotion", "good", "promoted"),
            ("identical 1.0.0: time to promotion", "identical", "promoted"))  # fmt: skip
    for label, update, end in rows:
        judged, fresh, fixed = (median_of(ends[update], s, end) for s in (JUDGED, FRESH, FIXED))
        ratio = f"{judged[0] / fixed[0]:.2f}x" if judged[1] and fixed[1] else "-"
        shown = [f"{m:.1f}s ({n}/{len(ends[update])})" if n else "never"
                 for m, n in (judged, fresh, fixed)]  # fmt: skip
        print(f"  {label:<40}{shown[0]:>16}{shown[1]:>16}{shown[2]:>16}{ratio:>13}")
    for label, updates, end in (("bad 1.0.1 aborted", ("bad",), "aborted"),
                                ("false aborts: identical 1.0.0", ("identical",), "aborted"),
                                ("false aborts: good 1.1.0", ("good",), "aborted"),
                                ("false aborts: identical code, all", ("identical", "good"),
                                 "aborted"),
                                ("good code held for a human", ("identical", "good"), "held")):  # fmt: skip
        outcomes = [o for update in updates for o in ends[update]]
        counts = [sum(o[side].end == end for o in outcomes) for side in (JUDGED, FRESH, FIXED)]
        shown = [f"{c}/{len(outcomes)} = {c / len(outcomes):.0%}" for c in counts]
        print(f"  {label:<40}{shown[0]:>16}{shown[1]:>16}{shown[2]:>16}")


def median_of(outcomes: list[dict[str, Outcome]], side: str, end: str) -> tuple[float, int]:
    """The median time of the updates of `side` that ended so, and how many did."""
    times = [o[side].seconds for o in outcomes if o[side].end == end]
    return (statistics.median(times) if times else 0.0), len(times)


def revisions(client: httpx.Client, hours: float) -> dict[tuple[str, str], tuple[float, bool]]:
    """(namespace, hash) → (time of its last sample, whether it ever answered 5xx)."""
    end = time.time()
    found: dict[tuple[str, str], tuple[float, bool]] = {}
    query = 'max by (namespace, rollouts_pod_template_hash) (timestamp(http_server_requests_total{app=~"hello.*"}))'
    bad = 'max by (namespace, rollouts_pod_template_hash) (http_server_requests_total{app=~"hello.*",code=~"5.."})'
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


def offline(hours: float) -> None:
    config = AnalysisConfig()
    with httpx.Client(base_url=Prometheus().endpoint(Context.load()), timeout=30) as client:
        found = revisions(client, hours)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="live runs (0: offline only)")
    parser.add_argument("--hours", type=float, default=6.0, help="recordings read offline")
    args = parser.parse_args()
    ctx = Context.load()
    if args.runs:
        up(ctx, PARTS, echo=lambda line: print(line, file=sys.stderr))
        report_live(live(ctx, args.runs), args.runs)
    print(f"\nOffline, on the recordings of the last {args.hours:g} h")
    offline(args.hours)


if __name__ == "__main__":
    main()
