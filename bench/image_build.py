"""Benchmark: `rollway-step build-image` vs `buildah bud` (and `crane append`, when it builds here).

On the devstack's registry (seeded base image) with the Maven repository's jars:

- cold: the ~60 MB fat jar and the Spring Boot layered jar into an empty repository, with no
  local state (our layer cache, buildah's storage: empty);
- warm: an upgrade (hello-fat 1.0.0 → 1.0.1, hello-boot 1.0.0 → 1.1.0) into the repository the
  previous version went to, local state kept: in the Spring Boot jar only the application layer
  changes; the fat jar is one layer, so all of it changes;
- rebuild: the same input again (ours only): nothing to push.

Prints the median of `--runs` runs per scenario, the ratios between tools measured in this run,
the peak RSS of our step (from wait4's rusage of the step process), and the compression-level
table the builder's choice of deflate is based on. It never asserts on time.

    .venv/bin/python bench/image_build.py [--runs 3]

Our step runs as the pipeline runs it: the jar's coordinates given, so the tag is its version and
an upgrade is a new tag (whose per-version layer then goes up while it is deflated).

Latest (issue 15's last steps: the registry client on `rollway.transport` instead of httpx, the
jar hashed from the step's first moment, the manifest written by its tag in one request), the step
interleaved with crane on the 2-CPU machine with only the registry and Maven up (load 0.4-0.9):
fat cold 0.49 s vs 0.62 s (1.26x), warm 0.50 s vs 0.64 s (1.26x), rebuild 0.17 s; Spring Boot
cold 1.85x, warm 2.06x, rebuild 0.15 s (7 and 5 runs each). This benchmark itself, `--runs 2`
(load 0.0-1.0): crane/ours fat 1.4x cold and 1.3x warm, Spring Boot 1.8x and 2.0x, buildah/ours
8.5-60x, rebuilds 0.16 s and 0.13 s, peak RSS 44 MiB. The transport alone, at load
0.6-1.8: fat 1.2x cold, 1.1x warm, rebuilds 0.18-0.20 s (0.23-0.28 s the moment before). Measured
on the 2-CPU development machine, the whole devstack up and idle (load average 1.2-1.8), after
the early upload of issue 15: `--runs 5` gave crane/ours 1.1x for the fat jar cold and
warm, 1.5x and 1.7x for Spring Boot, buildah/ours 16-71x, rebuilds 0.27-0.28 s, peak RSS 51 MiB;
the same step interleaved with crane alone (7 runs each, load 0.8-1.7) gave fat cold 0.63 s vs
0.78 s (1.24x), warm 0.71 s vs 0.80 s (1.12x), rebuilds 0.24-0.30 s. Before it (early upload,
lazy httpx, one trust store), at load 0.6-2.7: fat cold 0.89 s vs crane 0.91 s (1.0x), warm
1.0x, rebuild 0.35 s. The seconds move with the machine's load from run to run by 20%; the
ratios, measured in the same run, much less. Where a cold fat build's time goes is in
docs/architecture.md.
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
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from isal import isal_zlib

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devstack.cli import exports  # noqa: E402
from devstack.stack import Context, up  # noqa: E402

STEP = str(Path(sys.executable).parent / "rollway-step")
CRANE_VERSION = "v0.22.1"
CRANE_MODULE = "github.com/google/go-containerregistry/cmd/crane"
JARS = {
    "fat": ("hello-fat", "1.0.0", "1.0.1"),
    "boot": ("hello-boot", "1.0.0", "1.1.0"),
}
FAT_DOCKERFILE = """\
FROM {base}
COPY app.jar /app/app.jar
WORKDIR /app
USER 1000
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
"""
# Spring Boot's documented Dockerfile: extract the layers in a first stage, copy one per layer.
BOOT_DOCKERFILE = """\
FROM {base} AS builder
WORKDIR /builder
COPY app.jar app.jar
RUN ["java", "-Djarmode=layertools", "-jar", "app.jar", "extract"]

FROM {base}
WORKDIR /app
COPY --from=builder /builder/dependencies/ ./
COPY --from=builder /builder/spring-boot-loader/ ./
COPY --from=builder /builder/snapshot-dependencies/ ./
COPY --from=builder /builder/application/ ./
USER 1000
EXPOSE 8080
ENTRYPOINT ["java", "org.springframework.boot.loader.launch.JarLauncher"]
"""
BOOT_LAYERS = ("dependencies", "spring-boot-loader", "snapshot-dependencies", "application")


@dataclass
class Sample:
    seconds: float
    rss_mib: float = 0.0
    uploaded: str = ""


@dataclass
class Results:
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)

    def add(self, tool: str, scenario: str, sample: Sample) -> None:
        self.samples.setdefault((tool, scenario), []).append(sample)

    def median(self, tool: str, scenario: str) -> float | None:
        found = self.samples.get((tool, scenario))
        return statistics.median(s.seconds for s in found) if found else None


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Run `cmd`; (wall seconds, peak RSS in MiB of the process, stdout). Fails loudly."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}… failed ({proc.returncode}):\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, stdout


class Bench:
    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env = env
        self.work = work
        self.registry = env["ROLLWAY_REGISTRY"]
        self.base = env["ROLLWAY_BASE_IMAGE"]
        token = f"{env['ROLLWAY_REGISTRY_USERNAME']}:{env['ROLLWAY_REGISTRY_PASSWORD']}"
        auth = {"auths": {self.registry: {"auth": base64.b64encode(token.encode()).decode()}}}
        self.docker_config = work / "docker-config"
        self.docker_config.mkdir(mode=0o700)
        self.authfile = self.docker_config / "config.json"
        self.authfile.touch(mode=0o600)
        self.authfile.write_text(json.dumps(auth))
        self.jars = {
            (kind, version): self._download(artifact, version)
            for kind, (artifact, *versions) in JARS.items()
            for version in versions
        }

    def repo(self, tool: str, kind: str) -> str:
        return f"{self.registry}/bench/{tool}-{kind}-{uuid.uuid4().hex[:8]}"

    def _download(self, artifact: str, version: str) -> Path:
        dest = self.work / "jars" / f"{artifact}-{version}.jar"
        dest.parent.mkdir(exist_ok=True)
        url = f"{self.env['ROLLWAY_MAVEN_URL']}/com/example/{artifact}/{version}/{dest.name}"
        auth = (self.env["ROLLWAY_MAVEN_USERNAME"], self.env["ROLLWAY_MAVEN_PASSWORD"])
        with httpx.stream("GET", url, auth=auth, timeout=120) as response, dest.open("wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
        return dest

    # -- ours ---------------------------------------------------------------------------------

    def ours(self, kind: str, version: str, target: str, cache: Path) -> Sample:
        """As the pipeline runs the step: the jar's coordinates given, so the tag is its version."""
        env = {
            **self.env,
            "ROLLWAY_LAYER_CACHE": str(cache),
            "ROLLWAY_OUTPUTS_DIR": str(cache / "out"),
        }
        jar, coordinates = self.jars[(kind, version)], f"com.example:{JARS[kind][0]}:{version}"
        seconds, rss, stdout = run(
            [STEP, "build-image", "--jar", str(jar), "--coordinates", coordinates,
             "--base", self.base, "--target", target],
            env,
        )  # fmt: skip
        out = json.loads(stdout.strip().splitlines()[-1])
        return Sample(
            seconds,
            rss,
            f"{out['blobs_uploaded']} blobs, {int(out['bytes_uploaded']) / 1e6:.1f} MB",
        )

    # -- buildah ------------------------------------------------------------------------------

    def buildah(self, kind: str, jar: Path, target: str, root: Path) -> Sample:
        context = self.work / f"buildah-context-{uuid.uuid4().hex[:6]}"
        context.mkdir()
        os.link(jar, context / "app.jar")
        dockerfile = FAT_DOCKERFILE if kind == "fat" else BOOT_DOCKERFILE
        (context / "Dockerfile").write_text(dockerfile.format(base=self.base))
        storage = [
            "--root",
            str(root / "root"),
            "--runroot",
            str(root / "run"),
            "--storage-driver",
            "vfs",
        ]
        common = ["--tls-verify=false", "--authfile", str(self.authfile)]
        bud, _, _ = run(
            ["buildah", *storage, "bud", "--layers", "--isolation", "chroot", *common,
             "--platform", "linux/amd64", "-t", target, str(context)],
            {**os.environ},
        )  # fmt: skip
        push, _, _ = run(["buildah", *storage, "push", *common, target], {**os.environ})
        shutil.rmtree(context)
        return Sample(bud + push)

    # -- crane --------------------------------------------------------------------------------

    def crane(self, crane: str, kind: str, jar: Path, target: str) -> Sample:
        """Layer tarballs made with GNU tar (and Spring Boot's own extract), `crane append`,
        then `crane mutate` for the entrypoint, user and port: all inside the timing."""
        stage = self.work / f"crane-{uuid.uuid4().hex[:6]}"
        stage.mkdir()
        env = {**os.environ, "DOCKER_CONFIG": str(self.docker_config)}
        tar = [
            "tar",
            "--create",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@1",
            "--sort=name",
        ]
        started = time.perf_counter()
        if kind == "fat":
            (stage / "app").mkdir()
            os.link(jar, stage / "app" / "app.jar")
            run([*tar, "--file", str(stage / "jar.tar"), "-C", str(stage), "app"], env)
            layers = [stage / "jar.tar"]
            entrypoint, workdir = "java,-jar,/app/app.jar", "/app"
        else:
            run(
                [
                    "java",
                    "-Djarmode=layertools",
                    "-jar",
                    str(jar),
                    "extract",
                    "--destination",
                    str(stage),
                ],
                env,
            )
            layers = []
            for layer in BOOT_LAYERS:
                (stage / layer).mkdir(exist_ok=True)
                run(
                    [
                        *tar,
                        "--file",
                        str(stage / f"{layer}.tar"),
                        "--transform",
                        "s,^\\.,app,",
                        "-C",
                        str(stage / layer),
                        ".",
                    ],
                    env,
                )
                layers.append(stage / f"{layer}.tar")
            entrypoint, workdir = "java,org.springframework.boot.loader.launch.JarLauncher", "/app"
        new_layers = [arg for layer in layers for arg in ("--new_layer", str(layer))]
        run(
            [
                crane,
                "append",
                "--insecure",
                "--platform",
                "linux/amd64",
                "--base",
                self.base,
                *new_layers,
                "--new_tag",
                target,
            ],
            env,
        )
        run(
            [
                crane,
                "mutate",
                "--insecure",
                target,
                "--entrypoint",
                entrypoint,
                "--workdir",
                workdir,
                "--user",
                "1000",
                "--exposed-ports",
                "8080",
            ],
            env,
        )
        seconds = time.perf_counter() - started
        shutil.rmtree(stage)
        return Sample(seconds)


def crane_binary(cache: Path) -> tuple[str | None, str]:
    """crane from the Go module proxy, built once into the devstack cache; None if it cannot."""
    folder = cache / f"crane-{CRANE_VERSION}"
    binary = folder / "crane"
    if binary.exists():
        return str(binary), f"crane {CRANE_VERSION}"
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        return None, "crane: skipped (no Go toolchain to build it)"
    proc = subprocess.run(
        [go, "install", f"{CRANE_MODULE}@{CRANE_VERSION}"],
        env={**os.environ, "GOBIN": str(folder), "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None, f"crane: skipped (go install failed: {proc.stderr.strip()[-300:]})"
    return str(binary), f"crane {CRANE_VERSION}"


def compression_table(jars: dict[tuple[str, str], Path]) -> list[str]:
    """Time and ratio of deflate implementations and levels on the jars themselves."""
    lines = ["compression of the jar bytes (best of 3; ratio = compressed / original):"]
    for kind in JARS:
        data = jars[(kind, JARS[kind][1])].read_bytes()
        for name, module, level in (
            ("zlib", zlib, 1), ("zlib", zlib, 6), ("isa-l", isal_zlib, 1), ("isa-l", isal_zlib, 2),
        ):  # fmt: skip
            best, size = float("inf"), 0
            for _ in range(3):
                started = time.perf_counter()
                size = len(module.compress(data, level))
                best = min(best, time.perf_counter() - started)
            lines.append(
                f"  {kind:<5} {name:<6} level {level}  {best * 1000:7.0f} ms  ratio {size / len(data):.3f}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (median is shown)")
    args = parser.parse_args()

    ctx = Context.load()
    up(ctx, ["registry", "maven"], echo=lambda line: print(line, file=sys.stderr))
    env = {**os.environ, **exports(ctx)}
    crane, crane_note = crane_binary(ctx.paths.cache)
    results = Results()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rollway-bench-") as tmp:
        bench = Bench(env, Path(tmp))
        for kind, (_, old, new) in JARS.items():
            old_jar, new_jar = bench.jars[(kind, old)], bench.jars[(kind, new)]
            for i in range(args.runs):
                print(f"{kind} run {i + 1}/{args.runs}", file=sys.stderr)
                # ours: cold, then the upgrade (warm), then the same input again
                cache = Path(tmp) / f"cache-{kind}-{i}"
                target = bench.repo("ours", kind)
                results.add("ours", f"{kind} cold", bench.ours(kind, old, target, cache))
                results.add("ours", f"{kind} warm", bench.ours(kind, new, target, cache))
                results.add("ours", f"{kind} rebuild", bench.ours(kind, new, target, cache))
                # buildah: fresh storage for cold, kept for the upgrade
                storage = Path(tmp) / f"buildah-{kind}-{i}"
                target = bench.repo("buildah", kind)
                results.add(
                    "buildah", f"{kind} cold", bench.buildah(kind, old_jar, target, storage)
                )
                results.add(
                    "buildah", f"{kind} warm", bench.buildah(kind, new_jar, target, storage)
                )
                shutil.rmtree(storage, ignore_errors=True)
                if crane:
                    target = bench.repo("crane", kind)
                    results.add("crane", f"{kind} cold", bench.crane(crane, kind, old_jar, target))
                    results.add("crane", f"{kind} warm", bench.crane(crane, kind, new_jar, target))
        table = compression_table(bench.jars)
    report(results, args.runs, crane_note, table)
    print(
        f"load average (1 min) before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs: ratios are measured under the same load, seconds are not"
    )
    return 0


def report(results: Results, runs: int, crane_note: str, table: list[str]) -> None:
    tools = ["ours", "buildah"] + (
        ["crane"] if any(t == "crane" for t, _ in results.samples) else []
    )
    print(f"\nimage build: median of {runs} runs (seconds, wall clock, build + push)")
    print(f"peers: buildah (vfs, chroot isolation, --layers); {crane_note}")
    header = f"{'scenario':<14}" + "".join(f"{t:>10}" for t in tools)
    header += "".join(f"{t + '/ours':>14}" for t in tools[1:]) + "   ours pushed"
    print(header)
    scenarios = [f"{kind} {phase}" for kind in JARS for phase in ("cold", "warm", "rebuild")]
    for scenario in scenarios:
        ours = results.median("ours", scenario)
        row = f"{scenario:<14}"
        for tool in tools:
            value = results.median(tool, scenario)
            row += f"{value:>9.2f}s" if value is not None else f"{'-':>10}"
        for tool in tools[1:]:
            value = results.median(tool, scenario)
            row += f"{value / ours:>13.1f}x" if value is not None and ours else f"{'-':>14}"
        samples = results.samples.get(("ours", scenario), [])
        row += f"   {samples[-1].uploaded}" if samples else ""
        print(row)
    rss = max(
        s.rss_mib for (tool, _), found in results.samples.items() if tool == "ours" for s in found
    )
    print(f"peak RSS of our step, all runs: {rss:.0f} MiB")
    print("\n".join(table))


if __name__ == "__main__":
    sys.exit(main())
