"""analysis job leases: owner, expiry, attempts, and the index workers poll

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 22:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analysis_run') as batch:
        batch.add_column(sa.Column('worker', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('lease_expires_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_analysis_run_state', 'analysis_run', ['state', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_analysis_run_state', table_name='analysis_run')
    with op.batch_alter_table('analysis_run') as batch:
        batch.drop_column('attempts')
        batch.drop_column('lease_expires_at')
        batch.drop_column('worker')
