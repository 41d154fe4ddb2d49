"""Benchmark: a blue-green upgrade of the ~60 MB fat jar until the preview Service answers it.

On the devstack (started here, or reused), with the `demo` user logged in through Keycloak, each
run upgrades `com.example:hello-fat` 1.0.0 → 1.0.1 blue-green, the app's pods on the real node
(`java -jar` answering HTTP), three ways:

- argo: Rollway as its chart installs it in the cluster (`rollway-release`): the API server pod
  submits to the real Argo controller, every step runs in a pod of Rollway's image.
- embedded: a host-side `rollway-apiserver` (embedded engine, SQLite in a temporary directory,
  the platform of ConfigMap rollway/rollway-platform); its layer cache is emptied before each
  run, so the 1.0.1 jar layer is built and pushed every time, as on a CI runner that built 1.0.0.
- peer, by hand: the same chart and jar with `curl` (jar from the Maven repository),
  `git clone` (chart), `buildah bud` + `buildah push` (buildah's storage kept from building
  1.0.0, as a developer's machine has it), `helm upgrade` with the image digest and the same
  placement, `kubectl wait` for Paused; then the status patch `kubectl argo rollouts promote`
  sends and `kubectl wait` for Healthy.

Each first deploys 1.0.0 (not measured). The clock starts at the upgrade command; a thread GETs
the preview Service's ClusterIP every 50 ms from the host (kube-proxy routes it to a real pod)
until it answers `hello 1.0.1`. Rollway's `app upgrade --wait` returns at the pipeline's gate
(Rollout Paused); then `app promote` until `kubectl wait` sees the Rollout Healthy, and on until
`app status --watch` ends with the pipeline. For argo it reads back where the time went: the
workflow's step pods (scheduling, image pulls, the step's work, the controller's gaps) and the
app's first new pod.

Prints the median of `--runs` runs per phase and the ratios to argo, all measured in this run
under the same load, then the split and each run's figures. Asserts nothing; every wait is
bounded, so it stops by itself.

    .venv/bin/python bench/upgrade_latency.py [--runs 3] [--only argo,embedded,peer]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._apiserver import start_server  # noqa: E402
from bench._split import STEP_COLUMNS, app_pods, argo_steps, totals  # noqa: E402
from devstack.cli import exports  # noqa: E402
from devstack.components.node import LABEL, LABEL_VALUE  # noqa: E402
from devstack.components.release import NAMESPACE as RELEASE_NAMESPACE  # noqa: E402
from devstack.components.release import api_url  # noqa: E402
from devstack.projects import bootstrap_setting  # noqa: E402
from devstack.stack import Context, up  # noqa: E402

BIN = Path(sys.executable).parent
APP = str(BIN / "app")
PARTS = ["rollway-platform", "argo-rollouts", "kwok", "helm", "keycloak", "registry", "maven",
         "git", "kubelet", "kube-proxy", "coredns"]  # fmt: skip
TARGETS = ("argo", "embedded", "peer")
ARTIFACT, OLD, NEW = "com.example:hello-fat", "1.0.0", "1.0.1"
PROJECT = "hello"  # the demo project; its guardrails allow the artifact and the chart
#: Seconds any single command, wait or poll may take: the benchmark always ends.
LIMIT = 600
DOCKERFILE = """\
FROM {base}
COPY app.jar /app/app.jar
WORKDIR /app
USER 1000
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
"""
#: Chart values (helm --set syntax) that put the app's pods on the tainted real node.
ESCAPED = LABEL.replace(".", "\\.")  # helm's key syntax: a dot inside a key is escaped
ON_REAL_NODE = [
    "--set", f"nodeSelector.{ESCAPED}={LABEL_VALUE}",
    "--set", f"tolerations[0].key={LABEL}", "--set", "tolerations[0].operator=Exists",
    "--set", "tolerations[0].effect=NoSchedule",
    "--set", "resources.requests.cpu=20m", "--set", "resources.requests.memory=64Mi",
]  # fmt: skip
#: What `kubectl argo rollouts promote` patches on a blue-green Rollout paused for promotion.
PROMOTE_PATCH = '{"status":{"pauseConditions":null}}'
PREVIEW = "upgrade → preview answers"
PHASES = (PREVIEW, "upgrade → Paused", "promote → Healthy", "promote → pipeline done")


@dataclasses.dataclass
class Run:
    """One upgrade: phase times, the steps' own times, and (argo) where the time went."""

    phases: dict[str, float]
    steps: dict[str, float]
    split: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)


def run(args: list[str], env: dict[str, str], stdin: str | None = None, **kw: Any) -> str:
    try:
        done = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True,
                              check=False, timeout=LIMIT, **kw)  # fmt: skip
    except subprocess.TimeoutExpired:
        sys.exit(f"{' '.join(args[:4])}… did not end within {LIMIT} s")
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])}… failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def timed(args: list[str], env: dict[str, str], **kw: Any) -> float:
    started = time.perf_counter()
    run(args, env, **kw)
    return time.perf_counter() - started


def wait_rollout(name: str, namespace: str, phase: str, env: dict[str, str]) -> float:
    return timed(["kubectl", "wait", "-n", namespace, f"rollout/{name}", f"--timeout={LIMIT}s",
                  f"--for=jsonpath={{.status.phase}}={phase}"], env)  # fmt: skip


class Preview:
    """GETs `/` of a Service every 50 ms from the host, each on a new connection, until it answers
    `hello <version>`; `answered` is then the perf_counter time of that first answer."""

    def __init__(self, env: dict[str, str], namespace: str, service: str, version: str) -> None:
        address = run(["kubectl", "-n", namespace, "get", "service", service, "-o",
                       "jsonpath={.spec.clusterIP}:{.spec.ports[0].port}"], env)  # fmt: skip
        self.url, self.want = f"http://{address}/", f"hello {version}"
        self.answered: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> Preview:
        self._thread.start()
        return self

    def wait(self, timeout: float) -> float | None:
        """The first answer's time, waiting at most `timeout` more seconds for it."""
        self._thread.join(timeout)
        self._stop.set()
        self._thread.join(5)
        return self.answered

    def _poll(self) -> None:
        deadline = time.perf_counter() + LIMIT
        # A new connection each time: kube-proxy picks the backend per connection, so a kept-alive
        # one would keep asking the old pod after the Service switched.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=1, limits=fresh, headers={"Connection": "close"}) as client:
            while not self._stop.is_set() and time.perf_counter() < deadline:
                try:
                    if client.get(self.url).text.strip() == self.want:
                        self.answered = time.perf_counter()
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)


class Rollway:
    """The upgrade through `app`, against one API server (in the cluster, or on this host)."""

    def __init__(
        self,
        env: dict[str, str],
        admin: dict[str, str],
        chart_repo: str,
        layers: Path | None,
        workflows: str | None,
    ) -> None:
        self.env, self.admin, self.layers, self.workflows = env, admin, layers, workflows
        self.chart = f"{chart_repo}//charts/app@main"

    def status(self, name: str) -> dict[str, Any]:
        return dict(json.loads(run([APP, "status", name, "-o", "json"], self.env)))

    def once(self, name: str) -> Run:
        if self.layers is not None:
            shutil.rmtree(self.layers, ignore_errors=True)
        namespace = f"{name}-dev"
        # An admin's part, not measured: the pipeline may not create namespaces, and a project's
        # namespaces are widened by a platform admin.
        run([str(REPO_ROOT / "scripts" / "devstack"), "namespace", namespace], self.env)
        run([APP, "project", "set", PROJECT, "--allow", f"namespace={namespace}"], self.admin)
        run([APP, "deploy", name, "--artifact", f"{ARTIFACT}:{OLD}", "--env", "dev",
             "--project", PROJECT,
             "--strategy", "bluegreen", "--chart", self.chart, *ON_REAL_NODE, "--wait"],
            self.env)  # fmt: skip
        preview = Preview(self.env, namespace, f"{name}-preview", NEW)
        since, started = time.time(), time.perf_counter()
        preview.start()
        run([APP, "upgrade", name, "--version", NEW, "--strategy", "bluegreen", *ON_REAL_NODE,
             "--wait"], self.env)  # fmt: skip
        phases = {PHASES[1]: time.perf_counter() - started}
        if (answered := preview.wait(60)) is not None:
            phases[PREVIEW] = answered - started
        paused = self.status(name)
        if (paused["deployment"]["state"], paused["rollout"]["phase"]) != ("waiting", "Paused"):
            sys.exit(f"{name}: expected the upgrade to wait with the Rollout Paused, got "
                     f"{paused['deployment']['state']}/{paused['rollout']['phase']}")  # fmt: skip
        split: dict[str, dict[str, float]] = {}
        if self.workflows and (workflow := paused["deployment"].get("workflow")):
            until = since + phases.get(PREVIEW, phases[PHASES[1]])
            split = argo_steps(self.env, self.workflows, workflow, since, until)
        split["app pod"] = app_pods(self.env, namespace, since)
        started = time.perf_counter()
        run([APP, "promote", name], self.env)
        wait_rollout(name, namespace, "Healthy", self.env)  # the same observer as the peer's
        phases[PHASES[2]] = time.perf_counter() - started
        run([APP, "status", name, "--watch"], self.env)  # ends with the deployment
        phases[PHASES[3]] = time.perf_counter() - started
        done = self.status(name)
        if (done["deployment"]["state"], done["rollout"]["phase"]) != ("succeeded", "Healthy"):
            sys.exit(f"{name}: expected succeeded/Healthy after promotion, got "
                     f"{done['deployment']['state']}/{done['rollout']['phase']}")  # fmt: skip
        steps = {s["name"]: s["durationSeconds"] for s in done["deployment"]["steps"]
                 if s["durationSeconds"] is not None}  # fmt: skip
        return Run(phases, steps, split)


class Peer:
    """The same upgrade by hand: curl, git, buildah, helm, kubectl."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env, self.work = env, work
        self.registry = env["ROLLWAY_REGISTRY"]
        user, password = env["ROLLWAY_REGISTRY_USERNAME"], env["ROLLWAY_REGISTRY_PASSWORD"]
        self.authfile = work / "auth.json"
        self.authfile.touch(mode=0o600)
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.authfile.write_text(json.dumps({"auths": {self.registry: {"auth": basic}}}))
        # git: the token as a Basic credential in an extra header, never in the URL or argv
        token = base64.b64encode(f"rollway:{env['ROLLWAY_GIT_TOKEN']}".encode()).decode()
        self.git_env = {**env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}"}  # fmt: skip
        self.netrc = work / "netrc"
        self.netrc.touch(mode=0o600)
        self.netrc.write_text(f"machine 127.0.0.1 login {env['ROLLWAY_MAVEN_USERNAME']} "
                              f"password {env['ROLLWAY_MAVEN_PASSWORD']}\n")  # fmt: skip

    def once(self, name: str) -> Run:
        base = self.work / name
        storage = ["--root", str(base / "root"), "--runroot", str(base / "run"),
                   "--storage-driver", "vfs"]  # fmt: skip
        repo = f"{self.registry}/bench/{name}"
        # 1.0.0 first, as it would be there before the upgrade (not measured)
        self._release(name, base / "old", storage, repo, OLD, install=True)
        wait_rollout(name, name, "Healthy", self.env)
        preview = Preview(self.env, name, f"{name}-preview", NEW)
        started = time.perf_counter()
        preview.start()
        steps = self._release(name, base / "new", storage, repo, NEW, install=False)
        steps["kubectl wait Paused"] = wait_rollout(name, name, "Paused", self.env)
        phases = {PHASES[1]: time.perf_counter() - started}
        if (answered := preview.wait(60)) is not None:
            phases[PREVIEW] = answered - started
        steps["kubectl patch (promote)"] = timed(
            ["kubectl", "patch", "-n", name, f"rollout/{name}", "--subresource=status",
             "--type=merge", "-p", PROMOTE_PATCH], self.env,
        )  # fmt: skip
        steps["kubectl wait Healthy"] = wait_rollout(name, name, "Healthy", self.env)
        phases[PHASES[2]] = steps["kubectl patch (promote)"] + steps["kubectl wait Healthy"]
        shutil.rmtree(base, ignore_errors=True)
        return Run(phases, steps)

    def _release(
        self, name: str, where: Path, storage: list[str], repo: str, version: str, *, install: bool
    ) -> dict[str, float]:
        where.mkdir(parents=True)
        group, artifact = ARTIFACT.split(":")
        url = (f"{self.env['ROLLWAY_MAVEN_URL']}/{group.replace('.', '/')}/{artifact}/{version}/"
               f"{artifact}-{version}.jar")  # fmt: skip
        steps: dict[str, float] = {}
        steps["curl jar"] = timed(["curl", "-fsS", "--netrc-file", str(self.netrc), "-o",
                                   str(where / "app.jar"), url], self.env)  # fmt: skip
        steps["git clone chart"] = timed(
            ["git", "clone", "-q", "--depth=1", "--branch=main", self.env["ROLLWAY_CHART_REPO"],
             str(where / "charts")], self.git_env,
        )  # fmt: skip
        (where / "Dockerfile").write_text(DOCKERFILE.format(base=self.env["ROLLWAY_BASE_IMAGE"]))
        common = ["--tls-verify=false", "--authfile", str(self.authfile)]
        steps["buildah bud"] = timed(
            ["buildah", *storage, "bud", "--layers", "--isolation", "chroot", *common,
             "--platform", "linux/amd64", "-t", f"{repo}:{version}", str(where)], self.env,
        )  # fmt: skip
        digestfile = where / "digest"
        steps["buildah push"] = timed(["buildah", *storage, "push", *common, "--digestfile",
                                       str(digestfile), f"{repo}:{version}"], self.env)  # fmt: skip
        values = ["--set", f"image.repository={repo}", "--set",
                  f"image.digest={digestfile.read_text().strip()}", "--set", "strategy=bluegreen",
                  "--set", "replicas=2", *ON_REAL_NODE]  # fmt: skip
        verb = ["install", "--create-namespace"] if install else ["upgrade"]
        chart = str(where / "charts" / "charts" / "app")
        steps["helm upgrade"] = timed(["helm", *verb, name, chart, "-n", name, *values],
                                      self.env)  # fmt: skip
        return steps


def logged_in(base: dict[str, str], config: Path, url: str, user: str = "demo") -> dict[str, str]:
    """The CLI's environment for one API server, `user` logged in (`demo` deploys in project
    hello; `dave` is the platform admin)."""
    env = {**base, "ROLLWAY_CONFIG": str(config), "ROLLWAY_SERVER": url, "NO_COLOR": "1"}
    run([APP, "context", "set", "bench", "--server", url, "--env", "dev", "--use"], env)
    run([APP, "login", "-u", user, "--password-stdin"], env,
        stdin=base["DEVSTACK_USER_PASSWORD"])  # fmt: skip
    return env


def configmap(env: dict[str, str], namespace: str) -> dict[str, str]:
    found = run(["kubectl", "-n", namespace, "get", "configmap", "rollway-platform", "-o", "json"],
                env)  # fmt: skip
    return dict(json.loads(found)["data"])


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def selected(text: str) -> list[str]:
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    if unknown := [t for t in chosen if t not in TARGETS]:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; "
                                         f"choose from {', '.join(TARGETS)}")  # fmt: skip
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (the median is shown)")
    parser.add_argument("--only", type=selected, default=list(TARGETS),
                        help="comma-separated subset of argo,embedded,peer")  # fmt: skip
    parser.add_argument("--no-peer", action="store_true", help="leave the peer out")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: must be at least 1")
    targets = [t for t in TARGETS if t in args.only and not (t == "peer" and args.no_peer)]

    ctx = Context.load()
    up(ctx, PARTS + (["rollway-release"] if "argo" in targets else []),
       echo=lambda line: print(line, file=sys.stderr))  # fmt: skip
    base = {**os.environ, **exports(ctx)}
    notes = {"peer": "peer: curl + git clone + buildah bud/push (vfs, warm storage) + helm "
                     "upgrade + kubectl"}  # fmt: skip
    if "peer" in targets and (missing := [t for t in ("buildah", "curl", "git", "kubectl", "helm")
                                          if not shutil.which(t, path=base["PATH"])]):  # fmt: skip
        notes["peer"] = f"peer: skipped ({', '.join(missing)} not found)"
        targets.remove("peer")
    tag = uuid.uuid4().hex[:6]
    namespaces: list[str] = []
    results: dict[str, list[Run]] = {t: [] for t in TARGETS}
    load_before = os.getloadavg()[0]
    server: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="rollway-bench-") as tmp:
        try:
            ways: dict[str, Rollway | Peer] = {}
            if "argo" in targets:
                url = api_url(ctx)
                deadline = time.monotonic() + 120
                while not ready(url) and time.monotonic() < deadline:
                    time.sleep(1)
                chart = configmap(base, RELEASE_NAMESPACE)["chart-repo"]  # as pods reach it
                env = logged_in(base, Path(tmp) / "argo.yaml", url)
                admin = logged_in(base, Path(tmp) / "argo-admin.yaml", url, "dave")
                ways["argo"] = Rollway(env, admin, chart, None, RELEASE_NAMESPACE)
            if "embedded" in targets:
                platform = configmap(base, "rollway")  # where the node pulls the app from
                layers = Path(tmp) / "layers"
                server_env = {**base, "ROLLWAY_LAYER_CACHE": str(layers),
                              "ROLLWAY_IMAGE_PROJECT": "bench",
                              "ROLLWAY_REGISTRY": platform["registry"],
                              "ROLLWAY_REGISTRY_URL": platform["registry-url"],
                              "ROLLWAY_BASE_IMAGE": platform["base-image"],
                              "ROLLWAY_BOOTSTRAP_PROJECTS":
                                  bootstrap_setting(base["ROLLWAY_CHART_REPO"])}  # fmt: skip
                server, url = start_server(server_env, Path(tmp))
                env = logged_in(base, Path(tmp) / "embedded.yaml", url)
                admin = logged_in(base, Path(tmp) / "embedded-admin.yaml", url, "dave")
                ways["embedded"] = Rollway(env, admin, base["ROLLWAY_CHART_REPO"], layers, None)
            if "peer" in targets:
                ways["peer"] = Peer(base, Path(tmp))
            for i in range(args.runs):
                for target, way in ways.items():
                    name = f"bench-{target[:3]}-{tag}-{i}"
                    namespaces.append(name if target == "peer" else f"{name}-dev")
                    print(f"run {i + 1}/{args.runs}: {target} ({name})", file=sys.stderr)
                    results[target].append(way.once(name))
                    print("  " + ", ".join(f"{k} {v:.2f}s" for k, v in
                                           results[target][-1].phases.items()),
                          file=sys.stderr)  # fmt: skip
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            if namespaces:
                subprocess.run(["kubectl", "delete", "namespace", "--wait=false", *namespaces],
                               env=base, capture_output=True, check=False)  # fmt: skip
    report(results, args.runs, targets, notes)
    print(f"load average (1 min) before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs, shared with whatever else runs: ratios are measured under the "
          "same load, seconds are not")  # fmt: skip
    return 0


def show(value: float | None) -> str:
    return f"{value:>9.2f}s" if value is not None else f"{'-':>10}"


def median(samples: list[dict[str, float]], key: str) -> float | None:
    found = [s[key] for s in samples if key in s]
    return statistics.median(found) if found else None


def report(
    results: dict[str, list[Run]], runs: int, targets: list[str], notes: dict[str, str]
) -> None:
    print(f"\nblue-green upgrade of {ARTIFACT} {OLD} → {NEW} (~60 MB fat jar), app pods on the "
          f"real node, median of {runs} run(s), wall clock from the upgrade command")  # fmt: skip
    print("argo: the in-cluster release, steps in pods on the real Argo controller; embedded: "
          "host-side API server, steps as local processes")  # fmt: skip
    print(notes["peer"] if "peer" in targets else "peer: not measured")
    print(
        "preview answers: first `hello 1.0.1` from the preview Service's ClusterIP (50 ms "
        "polls); Paused/Healthy: `kubectl wait` on the Rollout (peer) or `app upgrade --wait`"
    )
    shown = [t for t in TARGETS if t in targets]
    ratios = [t for t in shown if t != "argo"] if "argo" in shown else []
    print(f"{'phase':<26}" + "".join(f"{t:>10}" for t in shown)
          + "".join(f"{t + '/argo':>15}" for t in ratios))  # fmt: skip
    for phase in PHASES:
        row = {t: median([r.phases for r in results[t]], phase) for t in shown}
        line = f"{phase:<26}" + "".join(show(row[t]) for t in shown)
        for t in ratios:
            a, b = row["argo"], row[t]
            line += f"{b / a:>14.2f}x" if a and b is not None else f"{'-':>15}"
        print(line)
    if results["argo"]:
        split_report(results["argo"])
    for target in ("embedded", "peer"):
        if results[target]:
            print(f"\n{target} steps (median seconds{', from app status -o json' if target == 'embedded' else ''}):")  # fmt: skip
            steps = [r.steps for r in results[target]]
            for name in dict.fromkeys(k for s in steps for k in s):
                print(f"  {name:<26}{show(median(steps, name))}")
        app = [r.split.get("app pod", {}) for r in results[target]]
        if any(app):
            print(f"  {'app pod':<26}" + "  ".join(
                f"{k} {median(app, k):.2f}s" for k in dict.fromkeys(x for a in app for x in a)
                if median(app, k) is not None))  # fmt: skip
    print("\neach run (seconds, preview answers / Paused / promote → Healthy):")
    for target in shown:
        print(f"  {target:<9}" + ", ".join(
            "/".join(f"{r.phases[p]:.2f}" if p in r.phases else "-" for p in PHASES[:3])
            for r in results[target]))  # fmt: skip


def split_report(runs: list[Run]) -> None:
    """Medians of the argo split: each step pod started before the preview answered, then the
    app's first new pod."""
    rows = [r.split for r in runs]
    names = list(dict.fromkeys(k for s in rows for k in s
                               if k not in ("submit", "workspace", "app pod")))  # fmt: skip
    print("\nargo: where the time went until the preview answered (median seconds; Argo and pod "
          "times are stamped to the second, Scheduled events and pull durations finer)")  # fmt: skip
    submit = [s.get("submit", {}) for s in rows]
    print(f"  command → workflow created (API server, submission): {show(median(submit, 'start'))}")
    volume = [s.get("workspace", {}) for s in rows]
    print(f"  workspace volume (WaitForFirstConsumer): provisioner asked at "
          f"{show(median(volume, 'asked'))}, ready at {show(median(volume, 'ready'))} "
          "(a helper pod makes the directory; the first step pods wait for it in `sched`)")  # fmt: skip
    print("  start: after the command; gap: since the last earlier step ended (controller); "
          "sched: created → Scheduled; to main: Scheduled → main running (sandbox, init, pulls); "
          "main: the step's work; to done: main ended → controller marks the step done")  # fmt: skip
    print(f"  {'step':<18}" + "".join(f"{c:>10}" for c in STEP_COLUMNS))
    for name in names:
        cells = [s.get(name, {}) for s in rows]
        print(f"  {name:<18}" + "".join(show(median(cells, c)) for c in STEP_COLUMNS))
    sums = [totals({n: s.get(n, {}) for n in names}, STEP_COLUMNS[1:]) for s in rows]
    print(f"  {'sum (parallel x2)':<18}{'':>10}" + "".join(show(median(sums, c))
                                                           for c in STEP_COLUMNS[1:]))  # fmt: skip
    app = [s.get("app pod", {}) for s in rows]
    print(f"  app's first new pod: created at {show(median(app, 'created'))}, sched "
          f"{show(median(app, 'sched'))}, pulls {show(median(app, 'pulls'))}, Scheduled → "
          f"running {show(median(app, 'to main'))}, created → Ready "
          f"{show(median(app, 'to ready'))}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
