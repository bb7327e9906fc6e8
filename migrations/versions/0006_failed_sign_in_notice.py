"""When the owner of an account was last told by email of repeated failed sign-ins.

One nullable column: the email goes at most once per carebook.sign_in_alerts.NOTICE_INTERVAL,
and every worker agrees on that by claiming it with one conditional UPDATE of this column.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_sign_in_notice_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('failed_sign_in_notice_at')
