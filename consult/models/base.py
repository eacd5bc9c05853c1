"""The declarative base, the constraint naming convention and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic can find (and SQLite batch mode can rebuild) every constraint.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# For tables whose rows can be deleted and whose ids appear in links (or, for ideas and comments, in public ids):
# SQLite without AUTOINCREMENT gives the highest id freed to the next row, so an old link or bookmark would open
# something else. PostgreSQL's sequences never go back. Migration 0013 rebuilt the existing tables with it.
NEVER_REUSED_IDS = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time in UTC, naive, as every timestamp column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def sql_in(values: tuple[str, ...]) -> str:
    """Render a tuple of string constants for a CHECK constraint."""
    return ", ".join(f"'{v}'" for v in values)
