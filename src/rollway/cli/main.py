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

#: Help is as wide as the terminal, up to this.
MAX_WIDTH = 100
#: Help sections → command name → ("module:attribute", the first sentence of its help). The
#: command is imported when used; `app --help` prints the sentence without importing it
#: (tests/unit/cli/test_cli_usage.py keeps each sentence the command's own).
SECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "Deploy": {
        "deploy": ("deploy:deploy", "Deploy an application from a jar in Maven."),
        "upgrade": ("upgrade:upgrade", "Upgrade an application to another version."),
        "promote": ("promote:promote", "Promote a paused release (or pass its approval gate)."),
        "approve": ("approve:approve", "Approve the plan of a deployment waiting for approval."),
        "reject": (
            "approve:reject",
            "Reject a deployment waiting for approval: its workflow stops.",
        ),
        "abort": ("abort:abort", "Abort the deployment in flight; back to the stable version."),
        "retry": ("retry:retry", "Retry the latest deployment, if it failed or was aborted."),
        "rollback": ("rollback:rollback", "Roll back to an earlier Rollout revision."),
    },
    "Inspect": {
        "status": ("status:status", "Show the latest deployment and its Rollout."),
        "list": ("list:list_apps", "List applications per environment."),
        "history": ("history:history", "Show deployments and Rollout revisions."),
        "logs": ("logs:logs", "Print the logs of the pipeline steps."),
    },
    "Projects": {
        "project": ("project:project", "List, show and change projects."),
    },
    "Settings": {
        "login": ("login:login", "Log in through Keycloak; tokens are kept in the context."),
        "logout": ("logout:logout", "Log out: end the Keycloak session, forget the tokens."),
        "whoami": ("whoami:whoami", "Show who you are logged in as: user, roles, teams."),
        "context": ("context:context", "List, switch and edit contexts."),
        "completion": ("completion:completion", "Print the shell completion script."),
    },
}
COMMANDS = {name: entry for section in SECTIONS.values() for name, entry in section.items()}


class LazyGroup(click.Group):
    """Commands live in `rollway.cli.commands.<module>` and are imported on demand, so
    `app --help` and every command start without loading the others' dependencies."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr = entry[0].split(":")
        command: click.Command = getattr(
            importlib.import_module(f"rollway.cli.commands.{module}"), attr
        )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands in sections, like kubectl's help; one column width for all of them."""
        width = max(map(len, COMMANDS)) + 2
        for section, commands in SECTIONS.items():
            rows = []
            for name, (_, sentence) in commands.items():
                short = _short_help(sentence, formatter.width - width - 4)
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


def _short_help(sentence: str, limit: int) -> str:
    """The sentence cut to `limit` as click cuts a command's help for a listing."""
    return click.Command(None, help=sentence).get_short_help_str(limit)


def report(err: RollwayError) -> None:
    """One line for the error, one for its hint."""
    click.echo(f"error: {err}", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


@click.group(
    cls=LazyGroup,
    epilog=EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": MAX_WIDTH},
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
    cli.main(prog_name="app", terminal_width=_terminal_width())


def _terminal_width() -> int:
    """The width click's help formatter would pick, measured as `shutil.get_terminal_size` does
    but without importing shutil (and the compression modules it loads): help starts faster."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns if columns > 0 else 80, MAX_WIDTH) - 2, 50)
