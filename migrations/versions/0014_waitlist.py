"""The waitlist: entries, offers, and three outbox kinds.

* ``waitlist_entries``: what a patient waits for (doctor or specialty, type, date range,
  weekdays, parts of the day, notice, or "earlier than" one of their appointments).
* ``waitlist_offers``: a freed slot offered to an entry, with its hold-free window.
* ``reminder_outbox``: three new kinds: ``waitlist_slot_freed`` (written by the booking and
  availability changes that free a doctor's time), ``waitlist_next_round`` (due when a
  hold-free window ends) and ``send_waitlist_offer`` (an offer's email).

The partial unique indexes (one open offer and one fulfilment per entry, one active
"earlier than" entry per appointment) work on PostgreSQL and SQLite alike. The outbox's kind
constraint changes as 0012 changed it: in place on PostgreSQL, by a copy of the table on
SQLite (the outbox has no triggers; ``appointments`` is not touched).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BOOKING_KINDS = ('schedule_reminder', 'move_reminder', 'delete_reminder', 'send_confirmation',
                 'send_updated_confirmation', 'send_cancellation')
ACCOUNT_KINDS = ('send_password_reset', 'send_registration_email')
WAITLIST_KINDS = ('waitlist_slot_freed', 'waitlist_next_round', 'send_waitlist_offer')
KIND_CONSTRAINT = 'ck_reminder_outbox_outbox_kind'


def _kind_check(kinds) -> str:
    return "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))


def _outbox_table(kinds) -> sa.Table:
    """reminder_outbox as it is to be (SQLite's batch mode copies the rows into this)."""
    return sa.Table(
        'reminder_outbox', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('topic', sa.String(length=16), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
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


def _change_kinds(kinds) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('reminder_outbox', recreate='always', copy_from=_outbox_table(kinds)):
            pass
        return
    op.drop_constraint(op.f(KIND_CONSTRAINT), 'reminder_outbox', type_='check')
    op.create_check_constraint(op.f(KIND_CONSTRAINT), 'reminder_outbox', _kind_check(kinds))


def upgrade():
    op.create_table(
        'waitlist_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('doctor_id', sa.Integer(), nullable=True),
        sa.Column('specialty', sa.String(length=80), nullable=True),
        sa.Column('appointment_type_id', sa.Integer(), nullable=True),
        sa.Column('earliest_date', sa.Date(), nullable=False),
        sa.Column('latest_date', sa.Date(), nullable=False),
        sa.Column('weekdays', sa.Integer(), nullable=False),
        sa.Column('times_of_day', sa.Integer(), nullable=False),
        sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
        sa.Column('earlier_than_appointment_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum('active', 'fulfilled', 'withdrawn', 'expired', name='waitlist_status',
                                    native_enum=False, create_constraint=True, length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('doctor_id IS NOT NULL OR specialty IS NOT NULL',
                           name=op.f('ck_waitlist_entries_doctor_or_specialty')),
        sa.CheckConstraint('latest_date >= earliest_date', name=op.f('ck_waitlist_entries_date_range_in_order')),
        sa.CheckConstraint('weekdays BETWEEN 1 AND 127', name=op.f('ck_waitlist_entries_weekdays_chosen')),
        sa.CheckConstraint('times_of_day BETWEEN 1 AND 7', name=op.f('ck_waitlist_entries_times_of_day_chosen')),
        sa.CheckConstraint('min_notice_minutes BETWEEN 0 AND 20160', name=op.f('ck_waitlist_entries_notice_range')),
        sa.CheckConstraint('earlier_than_appointment_id IS NULL OR doctor_id IS NOT NULL',
                           name=op.f('ck_waitlist_entries_earlier_than_names_doctor')),
        sa.CheckConstraint("(status = 'active') = (ended_at IS NULL)",
                           name=op.f('ck_waitlist_entries_ended_unless_active')),
        sa.ForeignKeyConstraint(['appointment_type_id'], ['appointment_types.id'],
                                name=op.f('fk_waitlist_entries_appointment_type_id_appointment_types')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_waitlist_entries_created_by_id_users')),
        sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], name=op.f('fk_waitlist_entries_doctor_id_doctors')),
        sa.ForeignKeyConstraint(['earlier_than_appointment_id'], ['appointments.id'],
                                name=op.f('fk_waitlist_entries_earlier_than_appointment_id_appointments')),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_waitlist_entries_patient_id_patients')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    )
    op.create_index('ix_waitlist_entries_doctor_queue', 'waitlist_entries', ['doctor_id', 'status', 'created_at'])
    op.create_index('ix_waitlist_entries_specialty_queue', 'waitlist_entries',
                    ['specialty', 'status', 'created_at'])
    op.create_index('ix_waitlist_entries_patient', 'waitlist_entries', ['patient_id', 'status'])
    op.create_index('uq_waitlist_entries_one_active_earlier', 'waitlist_entries', ['earlier_than_appointment_id'],
                    unique=True, sqlite_where=sa.text("status = 'active'"),
                    postgresql_where=sa.text("status = 'active'"))

    op.create_table(
        'waitlist_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('doctor_id', sa.Integer(), nullable=False),
        sa.Column('appointment_type_id', sa.Integer(), nullable=False),
        sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'claimed', 'expired', 'taken', 'withdrawn',
                                    name='waitlist_offer_status', native_enum=False, create_constraint=True,
                                    length=16), nullable=False),
        sa.Column('channels', sa.String(length=16), nullable=False),
        sa.Column('offered_by_id', sa.Integer(), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('end_at > start_at', name=op.f('ck_waitlist_offers_end_after_start')),
        sa.CheckConstraint('expires_at > sent_at', name=op.f('ck_waitlist_offers_hold_after_sent')),
        sa.CheckConstraint('expires_at <= start_at', name=op.f('ck_waitlist_offers_hold_ends_before_slot')),
        sa.CheckConstraint("(status = 'claimed') = (claimed_at IS NOT NULL)",
                           name=op.f('ck_waitlist_offers_claimed_when_claimed_at')),
        sa.CheckConstraint("status <> 'claimed' OR appointment_id IS NOT NULL",
                           name=op.f('ck_waitlist_offers_claim_names_booking')),
        sa.CheckConstraint('round >= 1', name=op.f('ck_waitlist_offers_round_positive')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'],
                                name=op.f('fk_waitlist_offers_appointment_id_appointments')),
        sa.ForeignKeyConstraint(['appointment_type_id'], ['appointment_types.id'],
                                name=op.f('fk_waitlist_offers_appointment_type_id_appointment_types')),
        sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], name=op.f('fk_waitlist_offers_doctor_id_doctors')),
        sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entries.id'],
                                name=op.f('fk_waitlist_offers_entry_id_waitlist_entries')),
        sa.ForeignKeyConstraint(['offered_by_id'], ['users.id'], name=op.f('fk_waitlist_offers_offered_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers')),
        sa.UniqueConstraint('entry_id', 'doctor_id', 'start_at', name='uq_waitlist_offers_entry_slot'),
    )
    op.create_index('ix_waitlist_offers_slot', 'waitlist_offers', ['doctor_id', 'start_at', 'status'])
    op.create_index('ix_waitlist_offers_open', 'waitlist_offers', ['status', 'expires_at'])
    op.create_index('uq_waitlist_offers_one_fulfilment', 'waitlist_offers', ['entry_id'], unique=True,
                    sqlite_where=sa.text("status = 'claimed'"), postgresql_where=sa.text("status = 'claimed'"))
    op.create_index('uq_waitlist_offers_one_open', 'waitlist_offers', ['entry_id'], unique=True,
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    _change_kinds(BOOKING_KINDS + ACCOUNT_KINDS + WAITLIST_KINDS)


def downgrade():
    # Offers not computed or sent yet are lost with their kinds, as the waitlist itself is.
    op.execute("DELETE FROM reminder_outbox WHERE kind IN ({})".format(
        ", ".join(f"'{kind}'" for kind in WAITLIST_KINDS)))
    _change_kinds(BOOKING_KINDS + ACCOUNT_KINDS)
    op.drop_table('waitlist_offers')
    op.drop_table('waitlist_entries')
