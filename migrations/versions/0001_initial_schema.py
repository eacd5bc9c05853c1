"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 22:20:13.351180
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation')),
    sa.UniqueConstraint('slug', name=op.f('uq_consultation_slug'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('participant', 'facilitator', 'analyst', 'admin')", name=op.f('ck_user_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_event_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)

    op.create_table('participant_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('profession', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("category IN ('service_user', 'carer', 'public', 'staff', 'student')", name=op.f('ck_participant_profile_category')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_participant_profile_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_profile')),
    sa.UniqueConstraint('user_id', name=op.f('uq_participant_profile_user_id'))
    )
    op.create_table('phase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('question', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('opens_at', sa.DateTime(), nullable=True),
    sa.Column('closes_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'open', 'closed')", name=op.f('ck_phase_state')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], name=op.f('fk_phase_consultation_id_consultation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase')),
    sa.UniqueConstraint('consultation_id', 'position', name=op.f('uq_phase_consultation_id_position'))
    )
    op.create_table('analysis_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_analysis_run_state')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], name=op.f('fk_analysis_run_consultation_id_consultation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_analysis_run_phase_id_phase'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_analysis_run_requested_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_run'))
    )
    with op.batch_alter_table('analysis_run', schema=None) as batch_op:
        batch_op.create_index('ix_analysis_run_consultation', ['consultation_id', 'created_at'], unique=False)

    op.create_table('phase_audience',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.CheckConstraint("category IN ('service_user', 'carer', 'public', 'staff', 'student')", name=op.f('ck_phase_audience_category')),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_phase_audience_phase_id_phase'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase_audience')),
    sa.UniqueConstraint('phase_id', 'category', name=op.f('uq_phase_audience_phase_id_category'))
    )
    op.create_table('phase_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=10), nullable=False),
    sa.Column('to_state', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("from_state IN ('draft', 'open', 'closed')", name=op.f('ck_phase_transition_from_state')),
    sa.CheckConstraint("reason IN ('manual', 'schedule')", name=op.f('ck_phase_transition_reason')),
    sa.CheckConstraint("to_state IN ('draft', 'open', 'closed')", name=op.f('ck_phase_transition_to_state')),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_phase_transition_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_phase_transition_phase_id_phase'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase_transition'))
    )
    with op.batch_alter_table('phase_transition', schema=None) as batch_op:
        batch_op.create_index('ix_phase_transition_phase_at', ['phase_id', 'at'], unique=False)

    op.create_table('topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_topic_phase_id_phase'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic')),
    sa.UniqueConstraint('phase_id', 'position', name=op.f('uq_topic_phase_id_position'))
    )
    op.create_table('idea',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('author_category', sa.String(length=20), nullable=True),
    sa.Column('author_profession', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('visible_from', sa.DateTime(), nullable=True),
    sa.Column('moderation_state', sa.String(length=10), nullable=False),
    sa.Column('moderation_reason', sa.String(length=500), nullable=True),
    sa.Column('up_count', sa.Integer(), nullable=False),
    sa.Column('down_count', sa.Integer(), nullable=False),
    sa.Column('impression_count', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('online', 'workshop', 'paper', 'phone')", name=op.f('ck_idea_channel')),
    sa.CheckConstraint("moderation_state IN ('published', 'held', 'hidden')", name=op.f('ck_idea_moderation_state')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_idea_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_idea_entered_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_idea_phase_id_phase'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], name=op.f('fk_idea_topic_id_topic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea'))
    )
    with op.batch_alter_table('idea', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_idea_phase_state', ['phase_id', 'moderation_state'], unique=False)
        batch_op.create_index('ix_idea_topic_state_created', ['topic_id', 'moderation_state', 'created_at'], unique=False)

    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('author_category', sa.String(length=20), nullable=True),
    sa.Column('author_profession', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('visible_from', sa.DateTime(), nullable=True),
    sa.Column('moderation_state', sa.String(length=10), nullable=False),
    sa.Column('moderation_reason', sa.String(length=500), nullable=True),
    sa.Column('up_count', sa.Integer(), nullable=False),
    sa.Column('down_count', sa.Integer(), nullable=False),
    sa.Column('impression_count', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('online', 'workshop', 'paper', 'phone')", name=op.f('ck_comment_channel')),
    sa.CheckConstraint("moderation_state IN ('published', 'held', 'hidden')", name=op.f('ck_comment_moderation_state')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_comment_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_comment_entered_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_comment_idea_id_idea'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['comment.id'], name=op.f('fk_comment_parent_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['phase_id'], ['phase.id'], name=op.f('fk_comment_phase_id_phase'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment'))
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_comment_idea_created', ['idea_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_comment_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_comment_phase_state', ['phase_id', 'moderation_state'], unique=False)

    op.create_table('impression',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('viewer_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_impression_comment_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_impression_idea_id_idea'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['viewer_id'], ['user.id'], name=op.f('fk_impression_viewer_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_impression')),
    sa.UniqueConstraint('viewer_id', 'comment_id', name=op.f('uq_impression_viewer_id_comment_id')),
    sa.UniqueConstraint('viewer_id', 'idea_id', name=op.f('uq_impression_viewer_id_idea_id'))
    )
    with op.batch_alter_table('impression', schema=None) as batch_op:
        batch_op.create_index('ix_impression_comment', ['comment_id'], unique=False)
        batch_op.create_index('ix_impression_idea', ['idea_id'], unique=False)

    op.create_table('vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('voter_category', sa.String(length=20), nullable=True),
    sa.Column('voter_profession', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(idea_id IS NULL AND comment_id IS NOT NULL) OR (idea_id IS NOT NULL AND comment_id IS NULL)', name=op.f('ck_vote_one_target')),
    sa.CheckConstraint('value IN (-1, 1)', name=op.f('ck_vote_value')),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_vote_comment_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_vote_idea_id_idea'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['user.id'], name=op.f('fk_vote_voter_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote')),
    sa.UniqueConstraint('voter_id', 'comment_id', name=op.f('uq_vote_voter_id_comment_id')),
    sa.UniqueConstraint('voter_id', 'idea_id', name=op.f('uq_vote_voter_id_idea_id'))
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.create_index('ix_vote_comment', ['comment_id'], unique=False)
        batch_op.create_index('ix_vote_idea', ['idea_id'], unique=False)

    op.create_table('vote_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=True),
    sa.Column('idea_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('voter_category', sa.String(length=20), nullable=True),
    sa.Column('voter_profession', sa.String(length=40), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('value IN (-1, 0, 1)', name=op.f('ck_vote_event_value')),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_vote_event_comment_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['idea.id'], name=op.f('fk_vote_event_idea_id_idea'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['user.id'], name=op.f('fk_vote_event_voter_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_event'))
    )
    with op.batch_alter_table('vote_event', schema=None) as batch_op:
        batch_op.create_index('ix_vote_event_comment', ['comment_id'], unique=False)
        batch_op.create_index('ix_vote_event_idea', ['idea_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vote_event', schema=None) as batch_op:
        batch_op.drop_index('ix_vote_event_idea')
        batch_op.drop_index('ix_vote_event_comment')

    op.drop_table('vote_event')
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_index('ix_vote_idea')
        batch_op.drop_index('ix_vote_comment')

    op.drop_table('vote')
    with op.batch_alter_table('impression', schema=None) as batch_op:
        batch_op.drop_index('ix_impression_idea')
        batch_op.drop_index('ix_impression_comment')

    op.drop_table('impression')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_phase_state')
        batch_op.drop_index(batch_op.f('ix_comment_parent_id'))
        batch_op.drop_index('ix_comment_idea_created')
        batch_op.drop_index(batch_op.f('ix_comment_author_id'))

    op.drop_table('comment')
    with op.batch_alter_table('idea', schema=None) as batch_op:
        batch_op.drop_index('ix_idea_topic_state_created')
        batch_op.drop_index('ix_idea_phase_state')
        batch_op.drop_index(batch_op.f('ix_idea_author_id'))

    op.drop_table('idea')
    op.drop_table('topic')
    with op.batch_alter_table('phase_transition', schema=None) as batch_op:
        batch_op.drop_index('ix_phase_transition_phase_at')

    op.drop_table('phase_transition')
    op.drop_table('phase_audience')
    with op.batch_alter_table('analysis_run', schema=None) as batch_op:
        batch_op.drop_index('ix_analysis_run_consultation')

    op.drop_table('analysis_run')
    op.drop_table('phase')
    op.drop_table('participant_profile')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_at')

    op.drop_table('audit_event')
    op.drop_table('user')
    op.drop_table('consultation')
