"""indexes for the audit log narrowed to one person's actions or one record's history

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:35:00
"""

from __future__ import annotations

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_actor_at', ['actor_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_event_target_at', ['target_type', 'target_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_target_at')
        batch_op.drop_index('ix_audit_event_actor_at')
