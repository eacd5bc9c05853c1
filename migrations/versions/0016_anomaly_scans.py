"""when the worker last looked for unusual activity in each consultation, looks asked for, and worker heartbeats

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anomaly_scan',
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('looked_at', sa.DateTime(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('marker', sa.String(length=100), nullable=True),
    sa.Column('raised', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'],
                            name=op.f('fk_anomaly_scan_consultation_id_consultation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('consultation_id', name=op.f('pk_anomaly_scan'))
    )
    op.create_table('worker_beat',
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_worker_beat'))
    )
    with op.batch_alter_table('worker_beat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_beat_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('worker_beat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_beat_seen_at'))
    op.drop_table('worker_beat')
    op.drop_table('anomaly_scan')
