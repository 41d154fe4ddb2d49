"""The `app` command: a group whose commands are imported only when run (or listed in help).

Errors never show a traceback: a Rollway error is one `error:` line, its hint, and the exit code
it carries (see EXIT_CODES); Ctrl-C exits 130. `ROLLWAY_DEBUG=1` shows the traceback of an
unexpected error.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import RollwayError
from .errors import EXIT_CODES
from .session import target_options

#: Help sections → command name → "module:attribute", imported when the command is used.
SECTIONS: dict[str, dict[str, str]] = {
    "Deploy": {
        "deploy": "deploy:deploy",
        "upgrade": "upgrade:upgrade",
        "promote": "promote:promote",
        "approve": "approve:approve",
        "reject": "approve:reject",
        "abort": "abort:abort",
        "retry": "retry:retry",
        "rollback": "rollback:rollback",
    },
    "Inspect": {
        "status": "status:status",
        "list": "list:list_apps",
        "history": "history:history",
        "logs": "logs:logs",
    },
    "Projects": {
        "project": "project:project",
    },
    "Settings": {
        "login": "login:login",
        "logout": "logout:logout",
        "whoami": "whoami:whoami",
        "context": "context:context",
        "completion": "completion:completion",
    },
}
COMMANDS = {name: target for section in SECTIONS.values() for name, target in section.items()}


class LazyGroup(click.Group):
    """Commands live in `rollway.cli.commands.<module>` and are imported on demand, so
    `app --help` and every command start without loading the others' dependencies."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(
            importlib.import_module(f"rollway.cli.commands.{module}"), attr
        )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands in sections, like kubectl's help; one column width for all of them."""
        width = max(map(len, COMMANDS)) + 2
        for section, commands in SECTIONS.items():
            rows = []
            for name in commands:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    short = command.get_short_help_str(limit=formatter.width - width - 4)
                    rows.append((name.ljust(width), short))
            with formatter.section(f"{section} Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except RollwayError as err:
            report(err)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`app history | head`): point stdout at /dev/null so the
            # interpreter's final flush does not fail too (as Python's docs on SIGPIPE advise).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except Exception as err:
            if os.environ.get("ROLLWAY_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(err).__name__}: {err}", err=True)
            click.echo("hint: run again with ROLLWAY_DEBUG=1 for the traceback", err=True)
            ctx.exit(1)


def report(err: RollwayError) -> None:
    """One line for the error, one for its hint."""
    click.echo(f"error: {err}", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


@click.group(
    cls=LazyGroup,
    epilog=EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="app", message="%(prog)s %(version)s")
@target_options
def cli() -> None:
    """Deploy Java services to Kubernetes with Rollway.

    \b
    Commands talk to the Rollway API server of the current context; log in first:
      app login                       # device code in the browser (people)
      app login --client-credentials  # CI, secret from stdin or ROLLWAY_CLIENT_SECRET
    """


def main() -> None:
    """Console script entry point."""
    cli.main(prog_name="app")
