"""One command's target: the context (from the config, flags and environment) and its token.

`--context`, `--server`, `-n/--namespace` and `--env` are accepted before or after the command
name, kubectl-style: each use stores its value here, and the command's own use wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import InvalidInput, Unauthorized
from ..validation import dns_label

if TYPE_CHECKING:
    from .api import Api
    from .config import Config, Context, Credentials

F = TypeVar("F", bound=Callable[..., Any])
META_KEY = "rollway.target"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep the value for the session; a flag given on the command line beats an environment
    variable read by the same option elsewhere on the line (`app --server X list`)."""
    if value is None or not param.name:
        return value
    given = ctx.find_root().meta.setdefault(META_KEY, {})
    typed = ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE
    if typed or param.name not in given:
        given[param.name] = value
    return value


def _label(flag: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            try:
                dns_label(flag, value)
            except InvalidInput as err:
                raise click.BadParameter(err.message, ctx, param) from None
        remembered: str | None = _remember(ctx, param, value)
        return remembered

    return check


def target_options(f: F) -> F:
    """--context, --server, -n/--namespace, --env: where the command acts."""
    options = [
        click.option("--context", metavar="NAME", envvar="ROLLWAY_CONTEXT", show_envvar=True,
                     expose_value=False, callback=_remember,
                     help="Context from the config file (default: current)."),
        click.option("--server", metavar="URL", envvar="ROLLWAY_SERVER", show_envvar=True,
                     expose_value=False, callback=_remember,
                     help="API server URL (overrides the context's)."),
        click.option("-n", "--namespace", metavar="NS", expose_value=False,
                     callback=_label("--namespace"),
                     help="Kubernetes namespace: picks the environment deploying there."),
        click.option("--env", metavar="ENV", expose_value=False, callback=_label("--env"),
                     help="Environment of the application (default: the context's)."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


@dataclasses.dataclass
class Session:
    config: Config
    context: Context
    server: str
    namespace: str | None
    env: str | None

    @classmethod
    def current(cls, ctx: click.Context | None = None, *, create: bool = False) -> Session:
        """The session of the running click command (or of `ctx`, during completion)."""
        from .config import Config  # not at startup: `app --help` reads no config

        ctx = ctx or click.get_current_context()
        given: dict[str, Any] = ctx.find_root().meta.get(META_KEY, {})
        config = Config.load()
        context = config.context(given.get("context"), create=create)
        return cls(
            config=config,
            context=context,
            server=(given.get("server") or context.server).rstrip("/"),
            namespace=given.get("namespace") or context.namespace,
            env=given.get("env") or context.env,
        )

    def credentials(self) -> Credentials:
        creds = self.context.credentials
        if creds is None:
            raise Unauthorized(
                f"not logged in (context '{self.context.name}')", hint="run: app login"
            )
        return creds

    def access_token(self, *, renew: bool = False) -> str:
        """A token that is still valid for a while, refreshed (and saved) when it is not."""
        from .config import expired

        creds = self.credentials()
        if renew or expired(creds.expires_at):
            from . import oidc

            self.save_credentials(oidc.refresh(self.context, creds))
            creds = self.credentials()
        return creds.access_token

    def save_credentials(self, creds: Credentials | None) -> None:
        self.context.credentials = creds
        self.config.store(self.context)

    def api(self, flags: dict[str, str] | None = None) -> Api:
        """The API client (imported here, not at startup)."""
        from .api import Api

        return Api(self, flags or {})
