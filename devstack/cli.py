"""`scripts/devstack up|down|status [--json]|env|namespace NAME` — the command line of the local
platform."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time

from .core import DevstackError
from .stack import Context, components, down, up


def exports(ctx: Context) -> dict[str, str]:
    values: dict[str, str] = {}
    for comp in components():
        values.update(comp.exports(ctx))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start every component that is not running")
    p_up.add_argument("only", nargs="*", help="components to start (with their dependencies)")
    sub.add_parser("down", help="stop what `up` started")
    p_status = sub.add_parser(
        "status", help="show each component's version, endpoint and readiness"
    )
    p_status.add_argument("--json", action="store_true")
    sub.add_parser("env", help='print shell exports (eval "$(scripts/devstack env)")')
    p_namespace = sub.add_parser(
        "namespace", help="create a namespace apps may be released into, as an admin would "
        "(Pod Security restricted); Rollway's pipeline may not create namespaces"
    )  # fmt: skip
    p_namespace.add_argument("name")
    args = parser.parse_args(argv)

    ctx = Context.load()
    try:
        if args.cmd == "up":
            started = time.monotonic()
            print(f"devstack up (state {ctx.paths.work}, cache {ctx.paths.cache})", file=sys.stderr)
            up(ctx, args.only, echo=lambda line: print(line, file=sys.stderr))
            print(f"devstack ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
        elif args.cmd == "down":
            down(ctx, echo=lambda line: print(line, file=sys.stderr))
        elif args.cmd == "status":
            rows = [comp.status(ctx) for comp in components()]
            if args.json:
                print(json.dumps({"components": rows}, indent=2))
            else:
                for row in rows:
                    mark = "ready" if row["ready"] else "DOWN"
                    rss_kib = row["rss_kib"]
                    rss = f"{rss_kib // 1024} MiB" if isinstance(rss_kib, int) else "-"
                    print(
                        f"{row['name']:<24} {mark:<6} {row['version']:<12} {rss:>8}  {row['endpoint']}"
                    )
            return 0 if all(row["ready"] for row in rows) else 1
        elif args.cmd == "env":
            for key, value in exports(ctx).items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.cmd == "namespace":
            from .components.pod_security import admin_namespace

            admin_namespace(ctx, args.name)
    except DevstackError as err:
        print(f"devstack: {err}", file=sys.stderr)
        return 1
    return 0
