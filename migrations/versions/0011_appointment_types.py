"""Appointment types: what a patient books, not only when.

* ``appointment_types``: the clinic's list (never deleted, only retired);
  ``doctor_appointment_types``: which doctor offers which, with an optional length of their own.
* ``doctors.default_appointment_type_id``: what is booked when no type is named.
* ``appointments.appointment_type_id`` (NOT NULL) and ``appointments.buffer_end_at``: the end of
  the appointment's own buffer, so each appointment keeps the buffer it was booked with.
* The doctor's overlap guard now covers ``[start_at, buffer_end_at)``: the database refuses
  a booking inside another one's buffer, whatever the lengths. (A patient's guard stays on
  ``[start_at, end_at)``: the buffer is the doctor's time, not the patient's.)

Data: every doctor gets one type made from their ``appointment_minutes`` and
``buffer_minutes`` ("Appointment (30 min)"), offered by them and made their default, and
every appointment points at its doctor's type. Its ``buffer_end_at`` is ``end_at`` plus that
buffer, cut short at the start of the doctor's next booked appointment where the two sat
closer than the buffer (a buffer raised after they were booked, or a staff booking next to
another): the new guard must hold for the rows already there.

SQLite: no table rebuild (a batch operation would drop the overlap and calendar-version
triggers of 0001 and 0004). ``ADD COLUMN`` can add a NOT NULL column with a REFERENCES
clause only while foreign keys are off, so they are turned off around that one statement
(before any row is written, so outside a transaction where the PRAGMA works) and on again.
The guard's triggers are dropped and written again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

DOCTOR_GUARD = "ex_appointments_doctor_overlap"
TYPE_FK = "fk_appointments_appointment_type_id_appointment_types"
DEFAULT_TYPE_FK = "fk_doctors_default_appointment_type_id_appointment_types"


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        'appointment_types',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('duration_minutes', sa.Integer(), nullable=False),
        sa.Column('buffer_minutes', sa.Integer(), nullable=False),
        sa.Column('colour', sa.String(length=7), nullable=False),
        sa.Column('bookable_online', sa.Boolean(), nullable=False),
        sa.Column('audience', sa.Enum('anyone', 'new_patients', 'returning_patients', name='appointment_audience',
                                      native_enum=False, create_constraint=True, length=24), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.CheckConstraint('buffer_minutes BETWEEN 0 AND 120', name=op.f('ck_appointment_types_buffer_minutes_range')),
        sa.CheckConstraint('duration_minutes BETWEEN 5 AND 240',
                           name=op.f('ck_appointment_types_duration_minutes_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_types')),
    )
    op.create_table(
        'doctor_appointment_types',
        sa.Column('doctor_id', sa.Integer(), nullable=False),
        sa.Column('appointment_type_id', sa.Integer(), nullable=False),
        sa.Column('duration_minutes', sa.Integer(), nullable=True),
        sa.Column('doctor_may_change_duration', sa.Boolean(), nullable=False),
        sa.CheckConstraint('duration_minutes IS NULL OR duration_minutes BETWEEN 5 AND 240',
                           name=op.f('ck_doctor_appointment_types_duration_minutes_range')),
        sa.ForeignKeyConstraint(['appointment_type_id'], ['appointment_types.id'],
                                name=op.f('fk_doctor_appointment_types_appointment_type_id_appointment_types')),
        sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'],
                                name=op.f('fk_doctor_appointment_types_doctor_id_doctors'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('doctor_id', 'appointment_type_id', name=op.f('pk_doctor_appointment_types')),
    )
    op.create_index(op.f('ix_doctor_appointment_types_appointment_type_id'), 'doctor_appointment_types',
                    ['appointment_type_id'], unique=False)

    if dialect == "sqlite":
        _sqlite_add_columns()
    else:
        op.add_column('doctors', sa.Column('default_appointment_type_id', sa.Integer(), nullable=True))
        op.create_foreign_key(DEFAULT_TYPE_FK, 'doctors', 'appointment_types',
                              ['default_appointment_type_id'], ['id'])
        op.add_column('appointments', sa.Column('appointment_type_id', sa.Integer(), nullable=True))
        op.add_column('appointments', sa.Column('buffer_end_at', sa.DateTime(timezone=True), nullable=True))
        op.create_foreign_key(TYPE_FK, 'appointments', 'appointment_types', ['appointment_type_id'], ['id'])

    _migrate_rows()

    if dialect == "postgresql":
        op.alter_column('appointments', 'appointment_type_id', nullable=False)
        op.alter_column('appointments', 'buffer_end_at', nullable=False)
        op.create_check_constraint(op.f('ck_appointments_buffer_end_after_end'), 'appointments',
                                   'buffer_end_at >= end_at')
    op.create_index(op.f('ix_appointments_appointment_type_id'), 'appointments', ['appointment_type_id'],
                    unique=False)
    _drop_doctor_guard(dialect)
    _create_doctor_guard(dialect, "buffer_end_at")


def downgrade():
    dialect = op.get_bind().dialect.name
    _drop_doctor_guard(dialect)
    _create_doctor_guard(dialect, "end_at")
    op.drop_index(op.f('ix_appointments_appointment_type_id'), table_name='appointments')
    if dialect == "postgresql":
        op.drop_constraint(op.f('ck_appointments_buffer_end_after_end'), 'appointments', type_='check')
        op.drop_constraint(TYPE_FK, 'appointments', type_='foreignkey')
        op.drop_constraint(DEFAULT_TYPE_FK, 'doctors', type_='foreignkey')
    # SQLite drops a column with its own REFERENCES clause in place.
    op.drop_column('appointments', 'buffer_end_at')
    op.drop_column('appointments', 'appointment_type_id')
    op.drop_column('doctors', 'default_appointment_type_id')
    op.drop_index(op.f('ix_doctor_appointment_types_appointment_type_id'), table_name='doctor_appointment_types')
    op.drop_table('doctor_appointment_types')
    op.drop_table('appointment_types')


def _sqlite_add_columns():
    connection = op.get_bind()
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Ignored inside a transaction: better to stop than to leave the column out.
        raise RuntimeError("could not turn SQLite foreign keys off to add appointments.appointment_type_id")
    try:
        connection.exec_driver_sql(
            f"ALTER TABLE doctors ADD COLUMN default_appointment_type_id INTEGER "
            f"CONSTRAINT {DEFAULT_TYPE_FK} REFERENCES appointment_types (id)")
        # The defaults only stand in until the rows are filled in below; the app always writes both.
        connection.exec_driver_sql(
            f"ALTER TABLE appointments ADD COLUMN appointment_type_id INTEGER NOT NULL DEFAULT 0 "
            f"CONSTRAINT {TYPE_FK} REFERENCES appointment_types (id)")
        connection.exec_driver_sql("ALTER TABLE appointments ADD COLUMN buffer_end_at DATETIME NOT NULL DEFAULT ''")
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _migrate_rows():
    connection = op.get_bind()
    doctors = sa.table('doctors', sa.column('id', sa.Integer), sa.column('appointment_minutes', sa.Integer),
                       sa.column('buffer_minutes', sa.Integer), sa.column('default_appointment_type_id', sa.Integer))
    types = sa.table('appointment_types', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('description', sa.Text), sa.column('duration_minutes', sa.Integer),
                     sa.column('buffer_minutes', sa.Integer), sa.column('colour', sa.String),
                     sa.column('bookable_online', sa.Boolean), sa.column('audience', sa.String),
                     sa.column('is_active', sa.Boolean))
    offers = sa.table('doctor_appointment_types', sa.column('doctor_id', sa.Integer),
                      sa.column('appointment_type_id', sa.Integer), sa.column('duration_minutes', sa.Integer),
                      sa.column('doctor_may_change_duration', sa.Boolean))
    appointments = sa.table('appointments', sa.column('id', sa.Integer), sa.column('doctor_id', sa.Integer),
                            sa.column('status', sa.String), sa.column('start_at', sa.DateTime(timezone=True)),
                            sa.column('end_at', sa.DateTime(timezone=True)),
                            sa.column('appointment_type_id', sa.Integer),
                            sa.column('buffer_end_at', sa.DateTime(timezone=True)))

    buffers = {}
    for doctor_id, minutes, buffer in connection.execute(
            sa.select(doctors.c.id, doctors.c.appointment_minutes, doctors.c.buffer_minutes).order_by(doctors.c.id)):
        type_id = connection.execute(sa.insert(types).values(
            name=f"Appointment ({minutes} min)", description="", duration_minutes=minutes, buffer_minutes=buffer,
            colour="#0a58ca", bookable_online=True, audience="anyone", is_active=True,
        ).returning(types.c.id)).scalar_one()
        # Doctors set their own length today: they keep that right for their type.
        connection.execute(sa.insert(offers).values(doctor_id=doctor_id, appointment_type_id=type_id,
                                                    duration_minutes=None, doctor_may_change_duration=True))
        connection.execute(sa.update(doctors).where(doctors.c.id == doctor_id)
                           .values(default_appointment_type_id=type_id))
        buffers[doctor_id] = (type_id, timedelta(minutes=buffer))

    rows = connection.execute(
        sa.select(appointments.c.id, appointments.c.doctor_id, appointments.c.status, appointments.c.start_at,
                  appointments.c.end_at).order_by(appointments.c.doctor_id, appointments.c.start_at)).all()
    booked_starts = {}
    for row in rows:
        if row.status == "booked":
            booked_starts.setdefault(row.doctor_id, []).append(row.start_at)
    updates = []
    for row in rows:
        type_id, buffer = buffers[row.doctor_id]
        buffer_end = row.end_at + buffer
        if buffer and row.status == "booked":
            later = [start for start in booked_starts[row.doctor_id] if start >= row.end_at]
            if later and later[0] < buffer_end:
                buffer_end = later[0]
        updates.append({"row_id": row.id, "type_id": type_id, "buffer_end": buffer_end})
    if updates:
        connection.execute(
            sa.update(appointments).where(appointments.c.id == sa.bindparam("row_id"))
            .values(appointment_type_id=sa.bindparam("type_id"), buffer_end_at=sa.bindparam("buffer_end")),
            updates)


def _drop_doctor_guard(dialect):
    if dialect == "postgresql":
        op.execute(f"ALTER TABLE appointments DROP CONSTRAINT {DOCTOR_GUARD}")
    else:
        op.execute(f"DROP TRIGGER {DOCTOR_GUARD}_insert")
        op.execute(f"DROP TRIGGER {DOCTOR_GUARD}_update")


def _create_doctor_guard(dialect, end_column):
    """The doctor's guard of 0001, over ``[start_at, end_column)``."""
    if dialect == "postgresql":
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT {DOCTOR_GUARD} EXCLUDE USING gist "
            f"(doctor_id WITH =, tstzrange(start_at, {end_column}, '[)') WITH &&) "
            f"WHERE (status = 'booked')"
        )
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {DOCTOR_GUARD}_{event.lower()} BEFORE {event} ON appointments "
                f"WHEN NEW.status = 'booked' BEGIN "
                f"SELECT RAISE(ABORT, '{DOCTOR_GUARD}') FROM appointments AS other "
                f"WHERE other.doctor_id = NEW.doctor_id AND other.status = 'booked' "
                f"AND other.id IS NOT NEW.id "
                f"AND other.start_at < NEW.{end_column} AND NEW.start_at < other.{end_column}; "
                f"END"
            )
