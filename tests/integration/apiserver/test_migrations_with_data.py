"""Every earlier schema, with records in it, upgrades to the newest on SQLite and on PostgreSQL:
the records are all there afterwards, and the newest schema is exactly what the models say."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Integer, MetaData, Table, create_engine, select

from rollway.apiserver import migrate
from rollway.apiserver.models import Base
from tests.integration.apiserver.conftest import database

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
PROD = {"name": "prod", "namespace": "hello-prod", "policy": {"approvalRequired": True}}
#: A value for every column any revision has; a row takes those its table has.
VALUES: dict[str, dict[str, Any]] = {
    "projects": {"name": "hello", "description": "", "image_repositories": ["reg:5000/apps"],
                 "chart_repositories": ["http://git/x.git"], "maven_groups": ["com.example"],
                 "notification_hosts": [], "created_by": "dave", "created_at": WHEN,
                 "updated_at": WHEN},
    "project_members": {"project": "hello", "role": "viewer", "group": "team-hello"},
    "project_namespaces": {"namespace": "hello-prod", "project": "hello"},
    "applications": {"name": "hello", "project": "hello", "namespace": "hello",
                     "artifact": "com.example:hello", "chart_repo": "http://git/x.git",
                     "chart_path": "charts/app", "chart_ref": "main",
                     "image_repository": "reg:5000/apps/hello", "strategy": "bluegreen",
                     "parameters": {}, "owning_groups": ["team-hello"], "environments": [PROD],
                     "notifications": [], "created_by": "alice", "created_at": WHEN,
                     "updated_at": WHEN},
    "app_owners": {"app": "hello", "group": "team-hello"},
    "deployments": {"id": "hello-prod-1", "app": "hello", "env": "prod",
                    "namespace": "hello-prod", "kind": "upgrade", "state": "succeeded",
                    "message": "", "version": "1.0.0", "strategy": "bluegreen", "request": {},
                    "parameters": {"approval-required": "true"}, "request_hash": "0" * 64,
                    "created_by": "alice", "created_by_name": "Alice", "created_at": WHEN,
                    "updated_at": WHEN, "steps": [], "provenance": {}},
    "notifications": {"deployment_id": "hello-prod-1", "event": "succeeded",
                      "url": "http://hooks:8080/h", "payload": {"state": "succeeded"},
                      "created_at": WHEN, "due_at": None, "attempts": 1, "last_error": ""},
    "audit_events": {"at": WHEN, "actor": "alice", "action": "create_deployment",
                     "method": "POST", "path": "/api/v1/apps/hello/deployments", "status": 201,
                     "outcome": "success", "detail": ""},
}  # fmt: skip


def earlier_revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.config())
    newest = script.get_current_head()
    return sorted(r.revision for r in script.walk_revisions() if r.revision != newest)


@pytest.mark.parametrize("revision", earlier_revisions())
def test_an_earlier_schema_with_records_upgrades_to_the_newest(
    revision: str, database_kind: str, tmp_path: Path
) -> None:
    with database(tmp_path) as url:
        engine = create_engine(url)
        config = migrate.config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            fill(conn)
        migrate.upgrade(engine)

        with engine.connect() as conn:
            tables = MetaData()
            tables.reflect(conn)
            app = conn.execute(select(tables.tables["applications"])).mappings().one()
            deployment = conn.execute(select(tables.tables["deployments"])).mappings().one()
            audit = conn.execute(select(tables.tables["audit_events"])).mappings().all()
            outbox = conn.execute(select(tables.tables["notifications"])).mappings().all()
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        engine.dispose()

    assert (app["name"], app["project"], app["environments"]) == ("hello", "hello", [PROD])
    assert app["version"] == 1  # its first ETag
    assert (deployment["id"], deployment["state"]) == ("hello-prod-1", "succeeded")
    assert [a["action"] for a in audit] == ["create_deployment"]
    assert [n["payload"] for n in outbox] == (
        [{"state": "succeeded"}] if revision >= "0002" else []
    )


def fill(conn: Connection) -> None:
    """A record in every table the schema has, with the values of VALUES."""
    tables = MetaData()
    tables.reflect(conn)
    for name, values in VALUES.items():
        if name in tables.tables:
            conn.execute(tables.tables[name].insert().values(**row(tables.tables[name], values)))


def row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    columns = {c.name for c in table.columns}
    counter = {c.name for c in table.primary_key if isinstance(c.type, Integer)}
    missing = [c.name for c in table.columns if not c.nullable and c.server_default is None
               and c.name not in counter and c.name not in values]  # fmt: skip
    assert not missing, f"VALUES has nothing for {table.name}.{missing}"
    return {k: v for k, v in values.items() if k in columns}
