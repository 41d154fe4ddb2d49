"""`rollway-apiserver`: serve the API with uvicorn. Options override ROLLWAY_* variables."""

from __future__ import annotations

import logging
from typing import Any

import click
import pydantic

from .settings import Settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", help="Address to listen on [ROLLWAY_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [ROLLWAY_PORT, default 8080].")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="SQLite database and engine journals [ROLLWAY_STATE_DIR, default ./rollway-state].",
)
@click.option(
    "--database-url",
    help="SQLAlchemy URL [ROLLWAY_DATABASE_URL, default SQLite in the state dir].",
)
@click.option(
    "--engine", type=click.Choice(["embedded", "argo"]), help="Workflow engine [ROLLWAY_ENGINE]."
)
@click.option(
    "--engine-option",
    "engine_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option of the engine backend (repeatable) [ROLLWAY_ENGINE_OPTIONS as JSON].",
)
@click.option("--keycloak-url", help="Keycloak base URL [ROLLWAY_KEYCLOAK_URL].")
@click.option("--realm", "keycloak_realm", help="Keycloak realm [ROLLWAY_KEYCLOAK_REALM].")
@click.option("--issuer", "oidc_issuer", help="Token issuer URL [ROLLWAY_OIDC_ISSUER].")
@click.option("--audience", "oidc_audience", help="Token audience [ROLLWAY_OIDC_AUDIENCE].")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def main(engine_options: tuple[str, ...], log_level: str, **options: Any) -> None:
    """Serve the Rollway API (OpenAPI at /openapi.json, docs at /docs)."""
    given = {k: v for k, v in options.items() if v is not None}
    if engine_options:
        given["engine_options"] = dict(_pair(item) for item in engine_options)
    try:
        settings = Settings(**given)
    except pydantic.ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                             for e in err.errors())  # fmt: skip
        raise click.UsageError(problems) from None
    import uvicorn

    from .app import create_app

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
    )


def _pair(item: str) -> tuple[str, str]:
    key, eq, value = item.partition("=")
    if not eq or not key:
        raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--engine-option")
    return key, value
