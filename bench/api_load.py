"""Benchmark: the API server under load, from a load generator in another process.

The server is `create_app` behind uvicorn in a child process (SQLite in a temporary state dir,
real Keycloak tokens, an engine that only records submissions, so the API is what is measured).
The load generator (this process, aiohttp + asyncio: httpx's pool costs more client CPU than
the server spends on a request) sends requests open-loop at a fixed rate and
measures each latency from the moment the request was due, so a stalled server is not hidden.

- status: GET /api/v1/deployments/{id} at `--rate` req/s (target: 300 req/s, p99 <= 25 ms);
- peer:   GET /healthz (no token, no database) at the same rate: the ratio is the cost of
          authentication, authorisation and the database read;
- list:   GET /api/v1/deployments?limit=50 walking cursors, over `--records` records
          (target: 100k records, p99 <= 50 ms), as a team member and as an admin;
- admit:  POST /api/v1/apps/{app}/deployments, each to its own app (target: p99 <= 100 ms).

Prints percentiles, errors and ratios; asserts nothing.

    .venv/bin/python bench/api_load.py [--rate 300] [--seconds 20] [--records 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devstack.cli import exports  # noqa: E402
from devstack.stack import Context, up  # noqa: E402

ADMISSION_APPS = 200
#: The server process being measured (set once it is started).
SERVER_PID = [0]


class RecordingBackend:
    """Accepts every workflow and keeps it running: the engine is not what is measured."""

    def __init__(self) -> None:
        from rollway.workflows.backends import WorkflowStatus

        self.status = WorkflowStatus
        self.workflows: dict[str, Any] = {}

    def submit(
        self, template: str, parameters: Mapping[str, str], *, labels: Mapping[str, str], name: str
    ) -> Any:
        workflow = self.status(name=name, namespace="rollway", template=template,
                               phase="Running", labels=dict(labels), parameters=dict(parameters))  # fmt: skip
        self.workflows[name] = workflow
        return workflow

    def get(self, name: str) -> Any:
        return self.workflows[name]

    def list(self, labels: Mapping[str, str]) -> list[Any]:
        return [w for w in self.workflows.values() if labels.items() <= w.labels.items()]

    def watch(self, name: str, timeout: float | None = None) -> Iterator[Any]:
        yield self.workflows[name]

    def logs(self, name: str, node: str | None = None, follow: bool = False) -> Iterator[str]:
        return iter(())

    def resume(self, name: str, node_field_selector: str) -> None: ...
    def stop(self, name: str, node_field_selector: str = "") -> None: ...
    def terminate(self, name: str) -> None: ...
    def retry(self, name: str) -> None: ...


def serve(port: int, state_dir: str) -> None:
    """The child process: the API server on `port`."""
    import uvicorn

    from rollway.apiserver import Settings, create_app

    settings = Settings(state_dir=Path(state_dir), port=port, sync_interval=1.0)
    app = create_app(settings, backend=RecordingBackend())  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@dataclasses.dataclass
class Result:
    name: str
    latencies: list[float]
    errors: int
    seconds: float
    #: CPU the server process used per answer: its cost, whatever else runs on the machine.
    server_cpu: float = 0.0

    def line(self) -> str:
        if not self.latencies:
            return f"{self.name:<34} no answers, {self.errors} errors"
        q = statistics.quantiles(self.latencies, n=100, method="inclusive")
        rate = len(self.latencies) / self.seconds
        return (
            f"{self.name:<34} {len(self.latencies):>6} req {rate:>6.0f}/s  p50 {q[49] * 1e3:6.2f} ms"
            f"  p90 {q[89] * 1e3:6.2f}  p99 {q[98] * 1e3:6.2f}  max {max(self.latencies) * 1e3:7.2f}"
            f"  errors {self.errors}  server CPU {self.server_cpu * 1e3:5.2f} ms/req"
        )

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def open_loop(
    name: str,
    request: Callable[[int], Awaitable[Answer]],
    *,
    rate: float,
    count: int,
    ok: int = 200,
) -> Result:
    """`count` requests, the i-th due at start + i/rate; latency counted from when it was due.

    Each request is started when it is due (not queued up front), so the client's own queue
    does not stand in for the server's."""
    latencies: list[float] = []
    errors = 0

    async def one(i: int, due: float) -> None:
        nonlocal errors
        try:
            answer = await request(i)
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            return
        if answer.status == ok:
            latencies.append(time.perf_counter() - due)
        else:
            errors += 1

    gc.collect()
    gc.disable()  # a collection in the load generator would show up as server latency
    cpu = cpu_seconds(SERVER_PID[0])
    start = time.perf_counter()
    tasks = []
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    gc.enable()
    elapsed = time.perf_counter() - start
    used = (cpu_seconds(SERVER_PID[0]) - cpu) / max(1, len(latencies) + errors)
    return Result(name, latencies, errors, elapsed, used)


def tokens(env: Mapping[str, str]) -> dict[str, str]:
    from keycloak import KeycloakOpenID

    cli = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"],
                         realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
                         client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip
    return {
        user: f"Bearer {cli.token(user, env['DEVSTACK_USER_PASSWORD'])['access_token']}"
        for user in ("alice", "dave")
    }


def app_spec(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "environments": [{"name": "dev"}],
        "chart": {"repo": "http://127.0.0.1:23000/rollway/charts.git"},
        "artifact": "com.example:hello",
        "owningGroups": ["team-hello"],
    }


def seed_records(database: Path, count: int) -> None:
    """`count` finished deployments of hello/dev, written into the server's tables before it
    starts (as a database that grew over time would be)."""
    from sqlalchemy import create_engine, insert

    from rollway.apiserver import migrate
    from rollway.apiserver.models import Application, AppOwner, Deployment

    engine = create_engine(f"sqlite:///{database}")
    migrate.upgrade(engine)
    hello = app_spec("hello")
    with engine.begin() as conn:
        conn.execute(insert(Application), [{
            "name": "hello", "namespace": "hello", "artifact": hello["artifact"],
            "chart_repo": hello["chart"]["repo"], "chart_path": "charts/app", "chart_ref": "main",
            "strategy": "bluegreen", "parameters": {},
            "environments": [{"name": e, "namespace": f"hello-{e}", "policy": {}}
                             for e in ("dev", "prod")],
            "created_by": "bench",
        }])  # fmt: skip
        conn.execute(insert(AppOwner), [{"app": "hello", "group": "team-hello"}])
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": f"hello-dev-seed{i:07d}", "app": "hello", "env": "dev",
            "namespace": "hello-dev", "kind": "deploy",
            "state": ("succeeded", "failed", "aborted")[i % 3], "message": "",
            "version": f"1.{i % 50}.0", "strategy": "bluegreen", "request": {},
            "parameters": {}, "request_hash": "-", "created_by": "seed",
            "created_by_name": "alice", "created_at": base + timedelta(seconds=i),
            "updated_at": base + timedelta(seconds=i), "steps": [], "provenance": {},
            "submit_attempts": 0,
        }
        for i in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        for chunk in range(0, count, 10_000):
            conn.execute(insert(Deployment), rows[chunk : chunk + 10_000])
    engine.dispose()


async def run(url: str, auth: dict[str, str], args: argparse.Namespace) -> list[Result]:
    connector = aiohttp.TCPConnector(limit=64)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:

        async def call(method: str, path: str, headers: dict[str, str] | None = None,
                       **kwargs: Any) -> Answer:  # fmt: skip
            async with http.request(method, path, headers=headers, **kwargs) as response:
                return Answer(response.status, await response.read())

        admin, alice = {"Authorization": auth["dave"]}, {"Authorization": auth["alice"]}
        deployed = await call("POST", "/api/v1/apps/hello/deployments", alice,
                              json={"env": "prod", "version": "1.0.0"})  # fmt: skip
        deployment = json.loads(deployed.body)["id"]
        count = int(args.rate * args.seconds)
        results = []
        for warmup in (True, False):  # the first round warms caches and connections up
            n = count // 10 if warmup else count
            peer = await open_loop("peer: GET /healthz", lambda i: call("GET", "/healthz"),
                                   rate=args.rate, count=n)  # fmt: skip
            status = await open_loop(
                "GET deployment status",
                lambda i: call("GET", f"/api/v1/deployments/{deployment}", alice),
                rate=args.rate, count=n,
            )  # fmt: skip
            if not warmup:
                results += [peer, status]

        for who, headers in (("team member", alice), ("admin", admin)):
            cursors: list[str | None] = [None]

            async def page(i: int, headers: dict[str, str] = headers,
                           cursors: list[str | None] = cursors) -> Answer:  # fmt: skip
                cursor = cursors[-1]
                params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
                answer = await call("GET", "/api/v1/deployments", headers, params=params)
                if answer.status == 200:
                    cursors.append(json.loads(answer.body)["nextCursor"])
                return answer

            results.append(await open_loop(
                f"list {args.records} records ({who})", page, rate=100,
                count=int(100 * min(args.seconds, 10)),
            ))  # fmt: skip

        results.append(await open_loop(
            "POST deploy (admission)",
            lambda i: call("POST", f"/api/v1/apps/bench-{i:03d}/deployments", alice,
                           json={"env": "dev", "version": "1.0.0"}),
            rate=20, count=ADMISSION_APPS, ok=201,
        ))  # fmt: skip
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "STATE_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return

    ctx = Context.load()
    up(ctx, ["keycloak"], echo=lambda line: print(line, file=sys.stderr))
    env = {**os.environ, **exports(ctx)}
    auth = tokens(env)
    port = 18000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="rollway-bench-") as state:
        started = time.perf_counter()
        seed_records(Path(state) / "rollway.db", args.records)
        print(f"seeded {args.records} records in {time.perf_counter() - started:.1f}s")
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), state], env=env,
        )  # fmt: skip
        SERVER_PID[0] = server.pid
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the API server did not start") from None
                time.sleep(0.2)
            admin = {"Authorization": auth["dave"]}
            for spec in (app_spec(f"bench-{i:03d}") for i in range(ADMISSION_APPS)):
                httpx.post(f"{url}/api/v1/apps", json=spec, headers=admin).raise_for_status()
            results = asyncio.run(run(url, auth, args))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"\nAPI server, uvicorn 1 worker, SQLite, {os.cpu_count()} cores, target {args.rate:.0f} req/s"
    )
    for result in results:
        print(result.line())
    peer, status = results[0], results[1]
    print(f"\nstatus p99 / peer p99: {status.p99 / peer.p99:.1f}x "
          "(the price of token check, authorisation and the database read)")  # fmt: skip


if __name__ == "__main__":
    main()
