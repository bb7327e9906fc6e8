"""SMS on the reminder path: the delivery records staff read per appointment.

* ``notification_deliveries``: one row per message per channel per outcome (sent, skipped,
  failed), written by the relay for the emails it sends itself and from the reminder
  function's delivery receipts (reminders, SMS notices). Ids and codes only.

SMS outbox rows reuse the existing kinds (``send_confirmation`` ... with ``channel: sms`` in
their payload), so the outbox's CHECK constraint is unchanged.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('receipt_id', sa.String(length=32), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.String(length=128), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.Column('provider_message_id', sa.String(length=128), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_notification_deliveries_channel_known')),
        sa.CheckConstraint("outcome IN ('sent', 'skipped', 'failed')",
                           name=op.f('ck_notification_deliveries_outcome_known')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
        sa.UniqueConstraint('receipt_id', name=op.f('uq_notification_deliveries_receipt_id')),
    )
    op.create_index('ix_notification_deliveries_appointment', 'notification_deliveries',
                    ['appointment_id', 'occurred_at'], unique=False)


def downgrade():
    op.drop_index('ix_notification_deliveries_appointment', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
