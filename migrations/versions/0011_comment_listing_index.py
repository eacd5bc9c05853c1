"""an index for an idea page's top-level comments (idea, parent, created), so their count reads only that idea's

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:10:00
"""

from __future__ import annotations

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index('ix_comment_idea_parent_created', ['idea_id', 'parent_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_idea_parent_created')
