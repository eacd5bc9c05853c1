"""flask --app wsgi backup / restore: a round trip gives back the data as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from consult.extensions import db
from consult.models import User


def _emails() -> set[str]:
    db.remove()
    return set(db.session.scalars(select(User.email)))


def test_backup_then_restore_gives_back_the_data_as_it_was(app, make, tmp_path: Path) -> None:
    make.user(email="kept@example.org")
    make.phase()
    runner = app.test_cli_runner()
    target = tmp_path / "backups" / "consult.backup"
    made = runner.invoke(args=["backup", str(target)])
    assert made.exit_code == 0, made.output
    assert target.stat().st_size > 0 and ("revision" in made.output or "pg_dump" in made.output)
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "already exists" in again.output  # a backup is never overwritten

    make.user(email="after-the-backup@example.org")
    assert _emails() == {"kept@example.org", "after-the-backup@example.org"}
    db.remove()
    restored = runner.invoke(args=["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert _emails() == {"kept@example.org"}
    # The restored database is whole and the site works on it.
    assert app.test_client().get("/healthz").get_json()["status"] == "ok"


def test_restore_refuses_a_missing_or_foreign_file_and_changes_nothing(app, make, tmp_path: Path) -> None:
    make.user(email="still-here@example.org")
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["restore", str(tmp_path / "nope.backup"), "--yes"])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    foreign = tmp_path / "foreign.backup"
    foreign.write_bytes(b"not a backup at all" * 100)
    refused = runner.invoke(args=["restore", str(foreign), "--yes"])
    assert refused.exit_code != 0 and "Error" in refused.output
    unconfirmed = runner.invoke(args=["restore", str(foreign)], input="n\n")
    assert unconfirmed.exit_code != 0
    assert _emails() == {"still-here@example.org"}
