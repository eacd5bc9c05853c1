"""remove the empty rows account deletion once wrote to hold SQLite's ids

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:40:00

Before ids were made never to be reused (0013), deleting an account with its posts wrote an empty, withdrawn,
authorless idea or comment at the old highest id so that SQLite would not hand that id to the next post. Such
a row counted as an idea, so the topic it sat in could never be deleted ("It has 1 idea"). No form can make a
post with no text, so a withdrawn, authorless online row with no text is one of them; it is removed only when
nothing refers to it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_PLACEHOLDER = {
    "comment": "body = '' AND author_id IS NULL AND moderation_state = 'withdrawn' AND channel = 'online'",
    "idea": "title = '' AND body = '' AND author_id IS NULL AND moderation_state = 'withdrawn' "
            "AND channel = 'online'",
}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    quote = bind.dialect.identifier_preparer.quote
    referring: dict[str, list[tuple[str, str]]] = {"idea": [], "comment": []}
    for table in inspector.get_table_names():
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] in referring and key["referred_columns"] == ["id"]:
                referring[key["referred_table"]].append((table, key["constrained_columns"][0]))
    # Comments first: a placeholder comment may be all that refers to a placeholder idea.
    for target in ("comment", "idea"):
        unreferenced = " ".join(
            f"AND NOT EXISTS (SELECT 1 FROM {quote(table)} r WHERE r.{quote(column)} = {target}.id)"
            for table, column in referring[target])
        op.execute(f"DELETE FROM {target} WHERE {_PLACEHOLDER[target]} {unreferenced}")


def downgrade() -> None:
    pass  # the rows held nothing; nothing needs them back
