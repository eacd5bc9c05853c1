"""SQLite: ids of deletable things that appear in links are never given out again (AUTOINCREMENT)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:05:00

Without AUTOINCREMENT, SQLite gives the next row the highest id in use plus one, so deleting the newest topic,
phase, consultation, idea, comment, account, codebook theme, moderation case or flag handed its id (and the
links and public ids made from it) to the next one made. Each of those tables is rebuilt in batch mode (copied
with its constraints and indexes; consult/migrate.py switches foreign keys off meanwhile, so nothing cascades).
PostgreSQL's sequences never go back, so there is nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TABLES = ('consultation', 'phase', 'topic', 'idea', 'comment', 'user', 'codebook_theme', 'moderation_case',
          'anomaly_flag')


def _rebuild(autoincrement: bool) -> None:
    """Copy each table into one declared with (or without) AUTOINCREMENT."""
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass  # nothing changes but the declaration


def upgrade() -> None:
    if op.get_context().dialect.name != 'sqlite':
        return
    _rebuild(True)
    # Copying the rows starts each count at the highest id left. Ids already freed above that (a deletion since
    # the last row was made) are known only where the audit log names them, so the count starts after those too.
    for table in TABLES:
        op.execute(f"DELETE FROM sqlite_sequence WHERE name = '{table}'")
        op.execute(f"""INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', MAX(
                           COALESCE((SELECT MAX(id) FROM "{table}"), 0),
                           COALESCE((SELECT MAX(target_id) FROM audit_event WHERE target_type = '{table}'), 0))""")


def downgrade() -> None:
    if op.get_context().dialect.name != 'sqlite':
        return
    _rebuild(False)
