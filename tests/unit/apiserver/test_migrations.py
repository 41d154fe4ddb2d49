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
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")

    with engine.connect() as conn:
        rows = conn.exec_driver_sql('SELECT app, "group" FROM app_owners ORDER BY 2').all()
    assert rows == [("hello", "team-hello"), ("hello", "team-ops")]


def test_owners_become_viewers_of_a_project_whose_guardrails_fit_the_apps(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rollway.db'}")
    config = migrate.config()
    apps = [
        ("hello", '[{"name": "dev", "namespace": "shared"}, {"name": "prod"}]', "team-hello"),
        ("other", '[{"name": "dev", "namespace": "shared"}]', "Ops Team"),
    ]
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        for name, environments, group in apps:
            conn.exec_driver_sql(
                "INSERT INTO applications (name, namespace, artifact, chart_repo, chart_path,"
                " chart_ref, image_repository, strategy, parameters, environments, notifications,"
                " created_by, created_at, updated_at) VALUES (?, ?, 'com.example:a', 'http://git/x',"
                " 'p', 'main', 'reg:5000/apps/x', 'canary', '{}', ?,"
                ' \'[{"url": "http://hooks:8080/h", "events": ["failed"]}]\','
                " 'x', '2026-01-01', '2026-01-01')",
                (name, name, environments),
            )
            conn.exec_driver_sql(
                'INSERT INTO app_owners (app, "group") VALUES (?, ?)', (name, group)
            )
    migrate.upgrade(engine)

    with engine.connect() as conn:
        owned = conn.exec_driver_sql("SELECT name, project FROM applications ORDER BY 1").all()
        members = conn.exec_driver_sql('SELECT project, role, "group" FROM project_members').all()
        spaces = conn.exec_driver_sql("SELECT namespace, project FROM project_namespaces").all()
        hello = conn.exec_driver_sql(
            "SELECT image_repositories, chart_repositories, maven_groups, notification_hosts"
            " FROM projects WHERE name = 'hello'"
        ).one()
    assert owned == [("hello", "hello"), ("other", "ops-team")]
    assert sorted(members) == [
        ("hello", "viewer", "team-hello"),
        ("ops-team", "viewer", "Ops Team"),
    ]
    assert sorted(spaces) == [("hello-prod", "hello"), ("shared", "hello")]
    assert hello == ('["reg:5000/apps/x"]', '["http://git/x"]', '["com.example"]', '["hooks:8080"]')
