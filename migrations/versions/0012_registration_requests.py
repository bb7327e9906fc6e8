"""Registration by emailed link, and account emails through the outbox.

* ``registration_requests``: a registration waiting for its emailed link to be followed
  (the answer to a registration no longer says whether the address has an account).
* ``reminder_outbox``: two new kinds, the password reset link and the registration email,
  sent by the relay after the response; their rows belong to no appointment, so
  ``appointment_id`` may be null.

PostgreSQL changes the outbox's column and CHECK constraint in place; SQLite, which cannot
alter either, copies the table (batch mode, from the table as it is to be).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BOOKING_KINDS = ('schedule_reminder', 'move_reminder', 'delete_reminder', 'send_confirmation',
                 'send_updated_confirmation', 'send_cancellation')
ACCOUNT_KINDS = ('send_password_reset', 'send_registration_email')
KIND_CONSTRAINT = 'ck_reminder_outbox_outbox_kind'


def _kind_check(kinds) -> str:
    return "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))


def _outbox_table(kinds, appointment_id_nullable: bool) -> sa.Table:
    """reminder_outbox as it is to be (SQLite's batch mode copies the rows into this)."""
    return sa.Table(
        'reminder_outbox', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('topic', sa.String(length=16), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=appointment_id_nullable),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_reminder_outbox'),
        sa.CheckConstraint('attempts >= 0', name='ck_reminder_outbox_attempts_not_negative'),
        sa.CheckConstraint(_kind_check(kinds), name=KIND_CONSTRAINT),
        sa.CheckConstraint("topic IN ('reminder', 'email')", name='ck_reminder_outbox_outbox_topic'),
        sa.CheckConstraint("status IN ('pending', 'done', 'dead')", name='ck_reminder_outbox_outbox_status'),
        sa.Index('ix_reminder_outbox_due', 'status', 'next_attempt_at'),
        sa.Index('ix_reminder_outbox_lane', 'appointment_id', 'topic', 'id'),
    )


def _change_outbox(kinds, appointment_id_nullable: bool) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('reminder_outbox', recreate='always',
                                  copy_from=_outbox_table(kinds, appointment_id_nullable)):
            pass
        return
    op.drop_constraint(op.f(KIND_CONSTRAINT), 'reminder_outbox', type_='check')
    # op.f: the name is final already (the naming convention must not prefix it again).
    op.create_check_constraint(op.f(KIND_CONSTRAINT), 'reminder_outbox', _kind_check(kinds))
    op.alter_column('reminder_outbox', 'appointment_id', existing_type=sa.Integer(),
                    nullable=appointment_id_nullable)


def upgrade():
    op.create_table('registration_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_requests')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_registration_requests_token_hash'))
    )
    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_requests_email'), ['email'], unique=False)

    _change_outbox(BOOKING_KINDS + ACCOUNT_KINDS, appointment_id_nullable=True)


def downgrade():
    # Account emails not sent yet are lost with their kind; they can simply be asked for again.
    op.execute("DELETE FROM reminder_outbox WHERE kind IN ({})".format(
        ", ".join(f"'{kind}'" for kind in ACCOUNT_KINDS)))
    _change_outbox(BOOKING_KINDS, appointment_id_nullable=False)

    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_requests_email'))
        batch_op.drop_index(batch_op.f('ix_registration_requests_created_at'))
    op.drop_table('registration_requests')
