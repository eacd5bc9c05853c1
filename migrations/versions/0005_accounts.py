"""accounts: email confirmation, verified staff claims, emailed tokens, shared rate counters

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('email_confirmed_at', sa.DateTime(), nullable=True))
    # People who registered before confirmation existed keep taking part: their address counts as confirmed.
    op.execute("UPDATE \"user\" SET email_confirmed_at = created_at")
    with op.batch_alter_table('participant_profile') as batch:
        batch.add_column(sa.Column('claim_verified_via', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('claim_verified_at', sa.DateTime(), nullable=True))
        batch.create_check_constraint('claim_verified_via', "claim_verified_via IN ('email_domain', 'facilitator')")
    with op.batch_alter_table('phase') as batch:
        batch.add_column(sa.Column('requires_verified_staff', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table('account_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('confirm', 'reset', 'change_email')", name=op.f('ck_account_token_purpose')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_account_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_token_token_hash'))
    )
    op.create_index(op.f('ix_account_token_user_id'), 'account_token', ['user_id'], unique=False)
    op.create_table('rate_counter',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_counter'))
    )
    op.create_index('ix_rate_counter_expires_at', 'rate_counter', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_counter_expires_at', table_name='rate_counter')
    op.drop_table('rate_counter')
    op.drop_index(op.f('ix_account_token_user_id'), table_name='account_token')
    op.drop_table('account_token')
    with op.batch_alter_table('phase') as batch:
        batch.drop_column('requires_verified_staff')
    with op.batch_alter_table('participant_profile') as batch:
        batch.drop_constraint(op.f('ck_participant_profile_claim_verified_via'), type_='check')
        batch.drop_column('claim_verified_at')
        batch.drop_column('claim_verified_via')
    with op.batch_alter_table('user') as batch:
        batch.drop_column('email_confirmed_at')
