"""moderation: reports, cases, kept originals, network keys, anomaly flags, withdrawn posts, pre-moderation

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_STATES = "moderation_state IN ('published', 'held', 'hidden')"
NEW_STATES = "moderation_state IN ('published', 'held', 'hidden', 'withdrawn')"
ONE_TARGET = "(idea_id IS NULL AND comment_id IS NOT NULL) OR (idea_id IS NOT NULL AND comment_id IS NULL)"
REPORT_REASONS = "'personal', 'abusive', 'spam', 'off_topic', 'safeguarding', 'other'"
CASE_REASONS = (REPORT_REASONS + ", 'email', 'phone', 'nhs_number', 'postcode', 'named_person', 'abuse', "
                "'self_harm', 'abuse_disclosure', 'patient_safety', 'premoderation'")


def _target_columns() -> list[sa.Column]:
    """The idea-or-comment target columns shared by several tables."""
    return [sa.Column('idea_id', sa.Integer(), nullable=True), sa.Column('comment_id', sa.Integer(), nullable=True)]


def _target_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    """Foreign keys of the idea-or-comment target columns."""
    return [
        sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f(f'fk_{table}_idea_id_idea'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f(f'fk_{table}_comment_id_comment'),
                                ondelete='CASCADE'),
    ]


def upgrade() -> None:
    for table in ('idea', 'comment'):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f'ck_{table}_moderation_state'), type_='check')
            batch.create_check_constraint('moderation_state', NEW_STATES)
    with op.batch_alter_table('phase') as batch:
        batch.add_column(sa.Column('premoderated', sa.Boolean(), nullable=False, server_default='0'))

    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    *_target_columns(),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(f"reason IN ({REPORT_REASONS})", name=op.f('ck_report_reason')),
    sa.CheckConstraint(ONE_TARGET, name=op.f('ck_report_one_target')),
    *_target_keys('report'),
    sa.ForeignKeyConstraint(['reporter_id'], ['user.id'], name=op.f('fk_report_reporter_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('reporter_id', 'comment_id', name=op.f('uq_report_reporter_id_comment_id')),
    sa.UniqueConstraint('reporter_id', 'idea_id', name=op.f('uq_report_reporter_id_idea_id'))
    )
    op.create_index('ix_report_comment', 'report', ['comment_id'], unique=False)
    op.create_index('ix_report_idea', 'report', ['idea_id'], unique=False)

    op.create_table('moderation_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    *_target_columns(),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(f"reason IN ({CASE_REASONS})", name=op.f('ck_moderation_case_reason')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_moderation_case_status')),
    sa.CheckConstraint(ONE_TARGET, name=op.f('ck_moderation_case_one_target')),
    *_target_keys('moderation_case'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'],
                            name=op.f('fk_moderation_case_consultation_id_consultation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_moderation_case_phase_id_phase'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_moderation_case_decided_by_id_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_case')),
    sa.UniqueConstraint('comment_id', name=op.f('uq_moderation_case_comment_id')),
    sa.UniqueConstraint('idea_id', name=op.f('uq_moderation_case_idea_id'))
    )
    op.create_index('ix_moderation_case_phase', 'moderation_case', ['phase_id'], unique=False)
    op.create_index('ix_moderation_case_queue', 'moderation_case',
                    ['consultation_id', 'restricted', 'status', 'updated_at'], unique=False)

    op.create_table('contribution_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    *_target_columns(),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(ONE_TARGET, name=op.f('ck_contribution_revision_one_target')),
    *_target_keys('contribution_revision'),
    sa.ForeignKeyConstraint(['editor_id'], ['user.id'], name=op.f('fk_contribution_revision_editor_id_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_revision'))
    )
    op.create_index('ix_contribution_revision_comment', 'contribution_revision', ['comment_id'], unique=False)
    op.create_index('ix_contribution_revision_idea', 'contribution_revision', ['idea_id'], unique=False)

    op.create_table('network_sighting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('network_key', sa.String(length=32), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_network_sighting_user_id_user'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_sighting')),
    sa.UniqueConstraint('user_id', 'network_key', name=op.f('uq_network_sighting_user_id_network_key'))
    )
    op.create_index('ix_network_sighting_key', 'network_sighting', ['network_key'], unique=False)

    op.create_table('anomaly_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    *_target_columns(),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('vote_burst', 'post_burst', 'duplicate_text')", name=op.f('ck_anomaly_flag_kind')),
    sa.CheckConstraint("status IN ('open', 'excluded', 'dismissed')", name=op.f('ck_anomaly_flag_status')),
    *_target_keys('anomaly_flag'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'],
                            name=op.f('fk_anomaly_flag_consultation_id_consultation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_anomaly_flag_phase_id_phase'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_anomaly_flag_decided_by_id_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly_flag')),
    sa.UniqueConstraint('consultation_id', 'signature', name=op.f('uq_anomaly_flag_consultation_id_signature'))
    )

    op.create_table('vote_exclusion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    *_target_columns(),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(ONE_TARGET, name=op.f('ck_vote_exclusion_one_target')),
    *_target_keys('vote_exclusion'),
    sa.ForeignKeyConstraint(['flag_id'], ['anomaly_flag.id'], name=op.f('fk_vote_exclusion_flag_id_anomaly_flag'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['user.id'], name=op.f('fk_vote_exclusion_voter_id_user'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_exclusion')),
    sa.UniqueConstraint('voter_id', 'comment_id', name=op.f('uq_vote_exclusion_voter_id_comment_id')),
    sa.UniqueConstraint('voter_id', 'idea_id', name=op.f('uq_vote_exclusion_voter_id_idea_id'))
    )
    op.create_index('ix_vote_exclusion_flag', 'vote_exclusion', ['flag_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_vote_exclusion_flag', table_name='vote_exclusion')
    op.drop_table('vote_exclusion')
    op.drop_table('anomaly_flag')
    op.drop_index('ix_network_sighting_key', table_name='network_sighting')
    op.drop_table('network_sighting')
    op.drop_index('ix_contribution_revision_idea', table_name='contribution_revision')
    op.drop_index('ix_contribution_revision_comment', table_name='contribution_revision')
    op.drop_table('contribution_revision')
    op.drop_index('ix_moderation_case_queue', table_name='moderation_case')
    op.drop_index('ix_moderation_case_phase', table_name='moderation_case')
    op.drop_table('moderation_case')
    op.drop_index('ix_report_idea', table_name='report')
    op.drop_index('ix_report_comment', table_name='report')
    op.drop_table('report')
    with op.batch_alter_table('phase') as batch:
        batch.drop_column('premoderated')
    for table in ('idea', 'comment'):
        op.execute(f"UPDATE {table} SET moderation_state = 'hidden' WHERE moderation_state = 'withdrawn'")
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f'ck_{table}_moderation_state'), type_='check')
            batch.create_check_constraint('moderation_state', OLD_STATES)
