"""Erasure of a patient at their request: ``patients.erased_at``; the date of birth may be gone.

An erased patient keeps their row (the appointment history points at it, pseudonymised)
without anything that identifies them: no date of birth, hence the column may be NULL.

SQLite cannot drop NOT NULL in place, and rebuilding ``patients`` (Alembic's batch mode)
would fail on the appointments that refer to it; the column is replaced instead (add,
copy, drop the old one, rename: SQLite 3.35 or newer). The downgrade gives erased
patients 1900-01-01, a placeholder the old schema's NOT NULL needs (their real date is gone).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

PLACEHOLDER_DATE_OF_BIRTH = "1900-01-01"


def upgrade():
    op.add_column("patients", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE patients ADD COLUMN date_of_birth_replacement DATE")
        op.execute("UPDATE patients SET date_of_birth_replacement = date_of_birth")
        op.execute("ALTER TABLE patients DROP COLUMN date_of_birth")
        op.execute("ALTER TABLE patients RENAME COLUMN date_of_birth_replacement TO date_of_birth")
    else:
        op.alter_column("patients", "date_of_birth", existing_type=sa.Date(), nullable=True)


def downgrade():
    op.execute(f"UPDATE patients SET date_of_birth = '{PLACEHOLDER_DATE_OF_BIRTH}' WHERE date_of_birth IS NULL")
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE patients ADD COLUMN date_of_birth_replacement DATE NOT NULL "
                   f"DEFAULT '{PLACEHOLDER_DATE_OF_BIRTH}'")
        op.execute("UPDATE patients SET date_of_birth_replacement = date_of_birth")
        op.execute("ALTER TABLE patients DROP COLUMN date_of_birth")
        op.execute("ALTER TABLE patients RENAME COLUMN date_of_birth_replacement TO date_of_birth")
        op.execute("ALTER TABLE patients DROP COLUMN erased_at")
    else:
        op.alter_column("patients", "date_of_birth", existing_type=sa.Date(), nullable=False)
        op.drop_column("patients", "erased_at")
