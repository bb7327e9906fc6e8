"""A version number on each doctor's calendar, moved on by the database itself.

``doctors.calendar_version`` changes in the same transaction as any insert, update or
delete of the doctor's appointments, weekly hours, one-off changes or time off, so a
slot list computed from the calendar at version N is exactly right for as long as the
version reads N (carebook/slot_cache.py keeps such lists). Triggers, not application
code, move it on: no write path, present or future, can forget to.

A new version is a number never used before, not the old one plus one: a transaction
that is rolled back loses its number for good, so a list computed inside it (from
writes that never happened) can never match a later version. PostgreSQL draws it from
a sequence (sequences ignore rollbacks), SQLite takes a random 64-bit number.

PostgreSQL: statement-level triggers over transition tables, so a bulk insert moves
each doctor's version once rather than once a row. (A trigger with transition tables
takes one event, hence one trigger per table and event.) SQLite: row-level triggers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: The tables whose rows decide a doctor's slots, each with a doctor_id column.
CALENDAR_TABLES = ("appointments", "weekly_hours", "date_overrides", "time_off")
EVENTS = ("INSERT", "UPDATE", "DELETE")

POSTGRES_FUNCTION = """
CREATE FUNCTION bump_calendar_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE doctors SET calendar_version = nextval('calendar_versions')
        WHERE id IN (SELECT doctor_id FROM new_rows);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE doctors SET calendar_version = nextval('calendar_versions')
        WHERE id IN (SELECT doctor_id FROM new_rows UNION SELECT doctor_id FROM old_rows);
    ELSE
        UPDATE doctors SET calendar_version = nextval('calendar_versions')
        WHERE id IN (SELECT doctor_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$
"""

_TRANSITION_TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
_SQLITE_DOCTORS = {
    "INSERT": "NEW.doctor_id",
    "UPDATE": "OLD.doctor_id, NEW.doctor_id",
    "DELETE": "OLD.doctor_id",
}


def _trigger_name(table: str, event: str) -> str:
    return f"{table}_{event.lower()}_calendar_version"


def upgrade():
    with op.batch_alter_table('doctors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_version', sa.BigInteger(), server_default='0', nullable=False))

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE SEQUENCE calendar_versions AS bigint")
        op.execute(POSTGRES_FUNCTION)
    for table in CALENDAR_TABLES:
        for event in EVENTS:
            name = _trigger_name(table, event)
            if dialect == "postgresql":
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                           f"REFERENCING {_TRANSITION_TABLES[event]} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION bump_calendar_version()")
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                           f"UPDATE doctors SET calendar_version = random() "
                           f"WHERE id IN ({_SQLITE_DOCTORS[event]}); END")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in CALENDAR_TABLES:
        for event in EVENTS:
            name = _trigger_name(table, event)
            op.execute(f"DROP TRIGGER {name} ON {table}" if dialect == "postgresql" else f"DROP TRIGGER {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION bump_calendar_version()")
        op.execute("DROP SEQUENCE calendar_versions")
    with op.batch_alter_table('doctors', schema=None) as batch_op:
        batch_op.drop_column('calendar_version')
