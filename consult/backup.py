"""Backups of the whole database: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why in plain words."""


def sqlite_path(url: str) -> Path:
    """The database file of a sqlite:/// URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(database)


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: from CONSULT_PG_BIN, the PATH, or the newest Debian install."""
    configured = os.environ.get("CONSULT_PG_BIN")
    candidates = [str(Path(configured) / name)] if configured else []
    candidates += [shutil.which(name) or ""]
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))[::-1]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{name} was not found: install the PostgreSQL client (apt-get install postgresql-client) "
                      "or set CONSULT_PG_BIN to its directory.")


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no +driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def check_sqlite(path: Path) -> str:
    """Run SQLite's integrity check on a file and return its revision; raises when either is wrong."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a SQLite backup ({exc}); nothing was changed.") from exc
        if verdict != "ok":
            raise BackupError(f"{path} failed its integrity check: {verdict}")
        try:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a consult database ({exc})") from exc
        return revision[0] if revision else ""
    finally:
        connection.close()


def backup(url: str, target: Path) -> str:
    """Copy the live database to target while it is in use; returns a one-line description."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name so no backup is overwritten.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(sqlite_path(url))
        destination = sqlite3.connect(target)
        try:
            # The online backup API copies a consistent snapshot while other connections keep writing.
            source.backup(destination, pages=1024)
        finally:
            destination.close()
            source.close()
        revision = check_sqlite(target)
        return f"SQLite backup at revision {revision}: {target} ({target.stat().st_size:,} bytes)"
    done = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
                           libpq_url(url)], capture_output=True, text=True)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return f"PostgreSQL backup (pg_dump custom format): {target} ({target.stat().st_size:,} bytes)"


def restore(url: str, source: Path) -> str:
    """Replace the database's contents with a backup made by backup(); returns a one-line description."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist.")
    if url.startswith("sqlite"):
        revision = check_sqlite(source)
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(sqlite_path(url), timeout=30)
        try:
            origin.backup(live)  # page by page, under SQLite's own locks: running servers see old or new
        finally:
            live.close()
            origin.close()
        return f"Restored SQLite backup at revision {revision} from {source}"
    done = subprocess.run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           "--dbname", libpq_url(url), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {done.stderr.strip()}")
    return f"Restored PostgreSQL backup from {source}"
