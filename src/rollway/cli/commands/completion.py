"""`app completion`: the shell completion script (click's), for bash, zsh or fish."""

from __future__ import annotations

import click


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script.

    \b
    bash:  eval "$(app completion bash)"   (in ~/.bashrc)
    zsh:   eval "$(app completion zsh)"    (in ~/.zshrc, after compinit)
    fish:  app completion fish > ~/.config/fish/completions/app.fish
    """  # fmt: skip
    from click.shell_completion import get_completion_class

    from ..main import cli

    complete = get_completion_class(shell)
    assert complete is not None
    click.echo(complete(cli, {}, "app", "_APP_COMPLETE").source())
