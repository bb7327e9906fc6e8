"""Patients' phone numbers in E.164, read in the clinic's region; numbers that cannot be read are flagged.

Every stored number is parsed with ``phonenumbers`` in CLINIC_PHONE_REGION (the app's setting,
GB outside the app) and rewritten in E.164 ("07700 900123" -> "+447700900123"). A number that
does not parse as a valid number is kept exactly as typed and ``phone_needs_check`` is set, so
the staff console lists it for someone to call the patient: nothing is lost. The rule is written
out here (not imported from carebook/phones.py) so that this migration keeps doing what it did.
Downgrading keeps the E.164 numbers (a valid number for the old schema) and drops the flag.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import re

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FICTIONAL_MOBILES = re.compile(r"^\+447700900[0-9]{3}$")  # Ofcom's drama range, as in carebook/phones.py
TYPED = re.compile(r"^\+?[0-9 ().\-/]+$")


def _region() -> str:
    try:
        from flask import current_app

        return current_app.config["CLINIC"].phone_region
    except (RuntimeError, KeyError, AttributeError):
        return "GB"


def e164(typed, region):
    """The E.164 form of an old number, or None if it is not a valid one."""
    import phonenumbers

    text = (typed or "").strip()
    if not text or len(text) > 32 or not TYPED.match(text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number) or FICTIONAL_MOBILES.match(formatted):
        return formatted
    return None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_needs_check', sa.Boolean(), server_default=sa.false(), nullable=False))

    patients = sa.table('patients', sa.column('id', sa.Integer), sa.column('phone', sa.String),
                        sa.column('phone_needs_check', sa.Boolean))
    connection = op.get_bind()
    region = _region()
    for patient_id, phone in connection.execute(sa.select(patients.c.id, patients.c.phone)).all():
        number = e164(phone, region)
        if number is None:
            values = {"phone_needs_check": True}
        elif number != phone:
            values = {"phone": number}
        else:
            continue
        connection.execute(patients.update().where(patients.c.id == patient_id).values(**values))


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('phone_needs_check')
