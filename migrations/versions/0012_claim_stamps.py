"""whether a staff or student claim was verified, stamped on each idea, comment and vote as it was at the time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# (table, person column, prefix of the stamp columns)
STAMPED = (('idea', 'author_id', 'author'), ('comment', 'author_id', 'author'),
           ('vote', 'voter_id', 'voter'), ('vote_event', 'voter_id', 'voter'))


def upgrade() -> None:
    for table, person, prefix in STAMPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(f'{prefix}_claim_verified', sa.Boolean(), nullable=True))
    # Whether a claim was verified when each row was written was never kept, so existing rows take the person's
    # claim as it is now: the best record there is, and what the analysis read until this migration. Rows of
    # other groups, offline input and rows whose account is gone stay null (no claim to speak of).
    for table, person, prefix in STAMPED:
        op.execute(
            f"UPDATE {table} SET {prefix}_claim_verified = EXISTS (SELECT 1 FROM participant_profile "
            f"WHERE participant_profile.user_id = {table}.{person} "
            f"AND participant_profile.claim_verified_via IS NOT NULL) "
            f"WHERE {person} IS NOT NULL AND {prefix}_category IN ('staff', 'student')"
        )


def downgrade() -> None:
    for table, _person, prefix in reversed(STAMPED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(f'{prefix}_claim_verified')
