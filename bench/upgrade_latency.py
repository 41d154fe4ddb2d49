"""Benchmark: wall time of a blue-green upgrade of the ~60 MB fat jar, through Rollway and by hand.

On the devstack (started here, or reused), with a real `rollway-apiserver` (embedded engine,
SQLite in a temporary directory) and the `demo` user logged in through Keycloak, each run:

- Rollway: deploys `com.example:hello-fat:1.0.0` to a new application (not measured), then times
  `app upgrade NAME --version 1.0.1 --strategy bluegreen --wait` (it returns at the pipeline's
  gate, the Rollout Paused with the preview up), then `app promote NAME` until `kubectl wait`
  sees the Rollout Healthy, and on until `app status NAME --watch` ends with the pipeline; it
  reads each pipeline step's time from `app status NAME -o json`. The server's layer cache is
  emptied before each run, so the 1.0.1 jar layer is built and pushed every time, as on a CI
  runner that built 1.0.0.
- peer, by hand: the same chart and jar with `curl` (jar from the Maven repository),
  `git clone` (chart), `buildah bud` + `buildah push` (the image; buildah's storage kept from
  building 1.0.0, as a developer's machine has it), `helm upgrade` with the image digest, and
  `kubectl wait` for Paused; then the status patch `kubectl argo rollouts promote` sends and
  `kubectl wait` for Healthy. Set up the same way, first with 1.0.0 (not measured).

Prints the median of `--runs` runs (default 3) per phase and the ratio peer/Rollway, both
measured in this run under the same load, then each run's figures. Asserts nothing.

    .venv/bin/python bench/upgrade_latency.py [--runs 3] [--no-peer]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._apiserver import start_server  # noqa: E402
from devstack.cli import exports  # noqa: E402
from devstack.stack import Context, up  # noqa: E402

BIN = Path(sys.executable).parent
APP = str(BIN / "app")
PARTS = [
    "rollway-platform",
    "argo-rollouts",
    "kwok",
    "helm",
    "keycloak",
    "registry",
    "maven",
    "git",
]
ARTIFACT, OLD, NEW = "com.example:hello-fat", "1.0.0", "1.0.1"
DOCKERFILE = """\
FROM {base}
COPY app.jar /app/app.jar
WORKDIR /app
USER 1000
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
"""
#: What `kubectl argo rollouts promote` patches on a blue-green Rollout paused for promotion.
PROMOTE_PATCH = '{"status":{"pauseConditions":null}}'
PHASES = ("upgrade → Paused", "promote → Healthy", "total")
#: Rollway only: from `app promote` until the pipeline finished (wait-healthy, report).
PIPELINE_DONE = "promote → pipeline done"


def run(args: list[str], env: dict[str, str], stdin: str | None = None, **kw: Any) -> str:
    done = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True, check=False,
                          **kw)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])}… failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def timed(args: list[str], env: dict[str, str], **kw: Any) -> float:
    started = time.perf_counter()
    run(args, env, **kw)
    return time.perf_counter() - started


class Rollway:
    """The upgrade through `app`, against the API server started here."""

    def __init__(self, env: dict[str, str], layers: Path) -> None:
        self.env, self.layers = env, layers
        self.chart = f"{env['ROLLWAY_CHART_REPO']}//charts/app@main"

    def status(self, name: str) -> dict[str, Any]:
        done = subprocess.run([APP, "status", name, "-o", "json"], env=self.env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        return dict(json.loads(done.stdout))

    def once(self, name: str) -> tuple[dict[str, float], dict[str, float]]:
        shutil.rmtree(self.layers, ignore_errors=True)
        run([APP, "deploy", name, "--artifact", f"{ARTIFACT}:{OLD}", "--env", "dev",
             "--strategy", "bluegreen", "--chart", self.chart, "--wait"], self.env)  # fmt: skip
        upgrade = timed([APP, "upgrade", name, "--version", NEW, "--strategy", "bluegreen",
                         "--wait"], self.env)  # fmt: skip
        paused = self.status(name)
        if (paused["deployment"]["state"], paused["rollout"]["phase"]) != ("waiting", "Paused"):
            sys.exit(f"{name}: expected the upgrade to wait with the Rollout Paused, got "
                     f"{paused['deployment']['state']}/{paused['rollout']['phase']}")  # fmt: skip
        started = time.perf_counter()
        run([APP, "promote", name], self.env)
        wait_healthy(name, f"{name}-dev", self.env)  # the same observer as the peer's
        promote = time.perf_counter() - started
        run([APP, "status", name, "--watch"], self.env)  # ends with the deployment
        finished = time.perf_counter() - started
        done = self.status(name)
        if (done["deployment"]["state"], done["rollout"]["phase"]) != ("succeeded", "Healthy"):
            sys.exit(f"{name}: expected succeeded/Healthy after promotion, got "
                     f"{done['deployment']['state']}/{done['rollout']['phase']}")  # fmt: skip
        steps = {s["name"]: s["durationSeconds"] for s in done["deployment"]["steps"]
                 if s["durationSeconds"] is not None}  # fmt: skip
        phases = {PHASES[0]: upgrade, PHASES[1]: promote, PHASES[2]: upgrade + promote,
                  PIPELINE_DONE: finished}  # fmt: skip
        return phases, steps


def wait_healthy(name: str, namespace: str, env: dict[str, str]) -> float:
    return timed(["kubectl", "wait", "-n", namespace, f"rollout/{name}", "--timeout=300s",
                  "--for=jsonpath={.status.phase}=Healthy"], env)  # fmt: skip


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

    def once(self, name: str) -> tuple[dict[str, float], dict[str, float]]:
        base = self.work / name
        storage = ["--root", str(base / "root"), "--runroot", str(base / "run"),
                   "--storage-driver", "vfs"]  # fmt: skip
        repo = f"{self.registry}/bench/{name}"
        # 1.0.0 first, as it would be there before the upgrade (not measured)
        self._release(name, base / "old", storage, repo, OLD, install=True)
        wait_healthy(name, name, self.env)
        steps = self._release(name, base / "new", storage, repo, NEW, install=False)
        steps["kubectl wait Paused"] = timed(
            ["kubectl", "wait", "-n", name, f"rollout/{name}",
             "--for=jsonpath={.status.phase}=Paused", "--timeout=300s"], self.env,
        )  # fmt: skip
        upgrade = sum(steps.values())
        steps["kubectl patch (promote)"] = timed(
            ["kubectl", "patch", "-n", name, f"rollout/{name}", "--subresource=status",
             "--type=merge", "-p", PROMOTE_PATCH], self.env,
        )  # fmt: skip
        steps["kubectl wait Healthy"] = wait_healthy(name, name, self.env)
        promote = steps["kubectl patch (promote)"] + steps["kubectl wait Healthy"]
        shutil.rmtree(base, ignore_errors=True)
        phases = {PHASES[0]: upgrade, PHASES[1]: promote, PHASES[2]: upgrade + promote}
        return phases, steps

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
                  "--set", "replicas=2"]  # fmt: skip
        verb = ["install", "--create-namespace"] if install else ["upgrade"]
        chart = str(where / "charts" / "charts" / "app")
        steps["helm upgrade"] = timed(["helm", *verb, name, chart, "-n", name, *values],
                                      self.env)  # fmt: skip
        return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (the median is shown)")
    parser.add_argument("--no-peer", action="store_true", help="measure Rollway only")
    args = parser.parse_args()

    ctx = Context.load()
    up(ctx, PARTS, echo=lambda line: print(line, file=sys.stderr))
    base = {**os.environ, **exports(ctx)}
    peer_note = (
        "peer: curl + git clone + buildah bud/push (vfs, warm storage) + helm upgrade + kubectl"
    )
    if args.no_peer:
        peer_note = "peer: skipped (--no-peer)"
    elif missing := [t for t in ("buildah", "curl", "git", "kubectl", "helm")
                     if not shutil.which(t, path=base["PATH"])]:  # fmt: skip
        peer_note = f"peer: skipped ({', '.join(missing)} not found)"
    measure_peer = peer_note.startswith("peer: curl")
    tag = uuid.uuid4().hex[:6]
    namespaces: list[str] = []
    results: dict[str, list[tuple[dict[str, float], dict[str, float]]]] = {
        "rollway": [],
        "peer": [],
    }
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rollway-bench-") as tmp:
        layers = Path(tmp) / "layers"
        server_env = {**base, "ROLLWAY_LAYER_CACHE": str(layers), "ROLLWAY_IMAGE_PROJECT": "bench"}
        server, url = start_server(server_env, Path(tmp))
        env = {
            **base,
            "ROLLWAY_CONFIG": f"{tmp}/config.yaml",
            "ROLLWAY_SERVER": url,
            "NO_COLOR": "1",
        }
        try:
            run([APP, "context", "set", "bench", "--server", url, "--env", "dev", "--use"], env)
            run([APP, "login", "-u", "demo", "--password-stdin"], env,
                stdin=base["DEVSTACK_USER_PASSWORD"])  # fmt: skip
            rollway, peer = Rollway(env, layers), Peer(base, Path(tmp))
            for i in range(args.runs):
                name = f"bench-up-{tag}-{i}"
                namespaces.append(f"{name}-dev")
                print(f"run {i + 1}/{args.runs}: rollway ({name})", file=sys.stderr)
                results["rollway"].append(rollway.once(name))
                if measure_peer:
                    peer_name = f"bench-peer-{tag}-{i}"
                    namespaces.append(peer_name)
                    print(f"run {i + 1}/{args.runs}: peer ({peer_name})", file=sys.stderr)
                    results["peer"].append(peer.once(peer_name))
        finally:
            server.terminate()
            server.wait(timeout=30)
            if namespaces:
                subprocess.run(["kubectl", "delete", "namespace", "--wait=false", *namespaces],
                               env=base, capture_output=True, check=False)  # fmt: skip
    report(results, args.runs, peer_note)
    print(f"load average (1 min) before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs: ratios are measured under the same load, seconds are not"
          )  # fmt: skip
    return 0


def show(value: float | None) -> str:
    return f"{value:>9.2f}s" if value is not None else f"{'-':>10}"


def median(samples: list[dict[str, float]], key: str) -> float | None:
    found = [s[key] for s in samples if key in s]
    return statistics.median(found) if found else None


def report(
    results: dict[str, list[tuple[dict[str, float], dict[str, float]]]], runs: int, peer_note: str
) -> None:
    ours = [phases for phases, _ in results["rollway"]]
    theirs = [phases for phases, _ in results["peer"]]
    print(f"\nblue-green upgrade of {ARTIFACT} {OLD} → {NEW} (~60 MB fat jar), "
          f"median of {runs} runs, wall clock")  # fmt: skip
    print("rollway: app upgrade --wait (returns at the gate, Rollout Paused), then app promote; "
          "app status --watch ends when the pipeline is done")  # fmt: skip
    print(peer_note)
    print("both: `kubectl wait` on the Rollout's phase tells when it is Healthy; "
          "peer/rollway < 1 means the peer was faster")  # fmt: skip
    print(f"{'phase':<26}{'rollway':>10}{'peer':>10}{'peer/rollway':>14}")
    for phase in (*PHASES, PIPELINE_DONE):
        a, b = median(ours, phase), median(theirs, phase)
        ratio = f"{b / a:>13.2f}x" if a and b is not None else f"{'-':>14}"
        print(f"{phase:<26}{show(a)}{show(b)}{ratio}")

    print("\nrollway pipeline steps (median seconds, from app status -o json; the workflow's "
          "timestamps have 1 s resolution):")  # fmt: skip
    steps = [s for _, s in results["rollway"]]
    for name in dict.fromkeys(k for s in steps for k in s):
        print(f"  {name:<20}{show(median(steps, name))}")
    if results["peer"]:
        print("\npeer steps (median seconds, upgrade then promotion):")
        steps = [s for _, s in results["peer"]]
        for name in dict.fromkeys(k for s in steps for k in s):
            print(f"  {name:<26}{show(median(steps, name))}")

    print("\neach run (seconds): " + ", ".join(
        f"rollway {p[PHASES[0]]:.2f}+{p[PHASES[1]]:.2f}" for p in ours
    ) + ("; " + ", ".join(f"peer {p[PHASES[0]]:.2f}+{p[PHASES[1]]:.2f}" for p in theirs)
         if theirs else ""))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
