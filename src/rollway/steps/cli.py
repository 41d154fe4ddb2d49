"""`rollway-step`: the console script every workflow step runs.

Each step lives in its own module and registers a click command on `main`. A RollwayError
becomes one line on stderr naming the input and the reason, and a non-zero exit.
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import RollwayError
from ..pipeline import (
    APPLY,
    BUILD_IMAGE,
    FETCH_CHART,
    PROMOTE,
    RENDER,
    REPORT,
    RESOLVE_ARTIFACT,
    TRAFFIC,
    WAIT_ROLLOUT,
)

# httpx imports its own command line (`httpx._main`: rich, pygments, click's extras) with the
# library: a tenth of a second of every step's start, for nothing a step uses. A None entry makes
# that import fail, which httpx expects (as in rollway.cli.api). A rebuild is meant to be instant.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

#: step (its template's name) → module:function; imported only when that step runs, so each
#: step starts fast.
STEPS = {
    RESOLVE_ARTIFACT: "rollway.steps.resolve:command",
    BUILD_IMAGE: "rollway.steps.build:command",
    FETCH_CHART: "rollway.steps.chart:command",
    RENDER: "rollway.steps.render:command",
    APPLY: "rollway.steps.apply:command",
    WAIT_ROLLOUT: "rollway.steps.wait:command",
    PROMOTE: "rollway.steps.promote:command",
    REPORT: "rollway.steps.report:command",
    TRAFFIC: "rollway.steps.load:command",
}


class StepGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(STEPS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = STEPS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=StepGroup)
def main() -> None:
    """Run one Rollway pipeline step."""


def run() -> None:
    """Entry point: turn Rollway errors into one clear line and a non-zero exit."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.Abort:
        sys.exit(130)
    except RollwayError as exc:
        click.echo(f"rollway-step: {exc}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code if exc.exit_code != 0 else 1)
