"""The schema comes only from migrations, and it matches the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from consult import migrate
from consult.extensions import make_engine
from consult.models import Base


@pytest.mark.sqlite_only
def test_schema_from_migrations_equals_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


@pytest.mark.sqlite_only
def test_second_upgrade_is_a_no_op(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT sql FROM sqlite_master ORDER BY name").all()
    migrate.upgrade(engine)
    with engine.connect() as connection:
        after = connection.exec_driver_sql("SELECT sql FROM sqlite_master ORDER BY name").all()
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert before == after


@pytest.mark.sqlite_only
def test_init_db_command_upgrades_an_empty_database(tmp_path: Path, monkeypatch) -> None:
    from consult import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Database at revision" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
