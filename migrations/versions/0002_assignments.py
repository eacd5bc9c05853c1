"""staff assignments to consultations, and the moderator role

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('participant', 'facilitator', 'analyst', 'admin')"
NEW_ROLES = "role IN ('participant', 'moderator', 'facilitator', 'analyst', 'admin')"


def upgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.drop_constraint(op.f('ck_user_role'), type_='check')
        batch.create_check_constraint('role', NEW_ROLES)
    op.create_table('consultation_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('facilitator', 'moderator', 'analyst', 'safeguarding')",
                       name=op.f('ck_consultation_assignment_role')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user.id'], name=op.f('fk_consultation_assignment_assigned_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], name=op.f('fk_consultation_assignment_consultation_id_consultation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_consultation_assignment_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_assignment')),
    sa.UniqueConstraint('consultation_id', 'user_id', 'role', name=op.f('uq_consultation_assignment_consultation_id_user_id_role'))
    )
    op.create_index('ix_consultation_assignment_user', 'consultation_assignment', ['user_id'], unique=False)
    # Staff who ran consultations before assignments existed keep their work: assign them to every one.
    op.execute("INSERT INTO consultation_assignment (consultation_id, user_id, role, created_at) "
               "SELECT c.id, u.id, u.role, CURRENT_TIMESTAMP FROM consultation c, \"user\" u "
               "WHERE u.role IN ('facilitator', 'analyst')")


def downgrade() -> None:
    op.drop_index('ix_consultation_assignment_user', table_name='consultation_assignment')
    op.drop_table('consultation_assignment')
    op.execute("UPDATE \"user\" SET role = 'facilitator' WHERE role = 'moderator'")
    with op.batch_alter_table('user') as batch:
        batch.drop_constraint(op.f('ck_user_role'), type_='check')
        batch.create_check_constraint('role', OLD_ROLES)
