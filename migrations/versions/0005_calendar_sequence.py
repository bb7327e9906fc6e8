"""Each appointment's iCalendar SEQUENCE, so a changed or cancelled .ics replaces the event.

Calendar apps keep the event with the highest SEQUENCE for a UID (RFC 5545 3.8.7.4): the
booking service moves it on at every reschedule and cancellation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite 3.35+ drops columns in place): a batch operation
# would rebuild the table on SQLite and lose its overlap and calendar-version triggers.


def upgrade():
    op.add_column("appointments", sa.Column("calendar_sequence", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("appointments", "calendar_sequence")
