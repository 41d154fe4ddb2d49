"""The Alembic migrations build exactly the schema the models describe, and go back down."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from rollway.apiserver import migrate
from rollway.apiserver.models import Base


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rollway.db'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # at head already: nothing to do, nothing fails

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_downgrade_removes_everything(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rollway.db'}")
    migrate.upgrade(engine)
    config = migrate.config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")

    assert inspect(engine).get_table_names() == ["alembic_version"]


def test_owning_groups_move_to_their_own_table(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rollway.db'}")
    config = migrate.config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.exec_driver_sql(
            "INSERT INTO applications (name, namespace, artifact, chart_repo, chart_path,"
            " chart_ref, strategy, parameters, owning_groups, environments, created_by,"
            " created_at, updated_at) VALUES ('hello', 'hello', 'g:a', 'http://git', 'p', 'main',"
            " 'canary', '{}', '[\"team-hello\", \"team-ops\"]', '[]', 'x', '2026-01-01', '2026-01-01')"
        )
    migrate.upgrade(engine)

    with engine.connect() as conn:
        rows = conn.exec_driver_sql('SELECT app, "group" FROM app_owners ORDER BY 2').all()
    assert rows == [("hello", "team-hello"), ("hello", "team-ops")]
