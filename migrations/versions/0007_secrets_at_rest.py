"""Secrets at rest: authenticator keys encrypted, sign-in session ids hashed.

* ``users.totp_secret`` becomes TEXT (a Fernet token is about 140 characters) and every
  key stored in plain text so far is encrypted with the newest key of
  SECRETS_ENCRYPTION_KEYS, read from the app this migration runs in (carebook/secrets_at_rest.py).
* ``user_sessions.id`` becomes the SHA-256 of the token the cookie carries; existing
  sessions are kept (their ids are hashed in place).

SQLite cannot change a column's type in place, and rebuilding ``users`` (as Alembic's
batch mode does) would run the ON DELETE CASCADE of every table that refers to it. The
column is replaced instead: add, copy, drop the old one, rename (SQLite 3.35 or newer).

The downgrade stores the keys in plain text again and ends every session (a hash cannot
be turned back into the token: everyone signs in again).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""
import hashlib

import sqlalchemy as sa
from alembic import op

from carebook import secrets_at_rest

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

#: The column as secrets_at_rest's helpers take it (with its table's primary key).
TOTP_SECRET = sa.Table("users", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("totp_secret", sa.Text)).c.totp_secret
SESSIONS = sa.table("user_sessions", sa.column("id", sa.String))


def _replace_column_on_sqlite(table: str, name: str, definition: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN {name}_replacement {definition}")
    op.execute(f"UPDATE {table} SET {name}_replacement = {name}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {name}_replacement TO {name}")


def upgrade():
    if op.get_context().dialect.name == "sqlite":
        _replace_column_on_sqlite("users", "totp_secret", "TEXT")
    else:
        op.alter_column("users", "totp_secret", type_=sa.Text(), existing_type=sa.String(length=64),
                        existing_nullable=True)
    connection = op.get_bind()
    secrets_at_rest.reencrypt(connection, secrets_at_rest.current_keyring(), [TOTP_SECRET])

    for (session_id,) in connection.execute(sa.select(SESSIONS.c.id)).all():
        connection.execute(SESSIONS.update().where(SESSIONS.c.id == session_id)
                           .values(id=hashlib.sha256(session_id.encode()).hexdigest()))


def downgrade():
    connection = op.get_bind()
    connection.execute(SESSIONS.delete())
    secrets_at_rest.decrypt_all(connection, secrets_at_rest.current_keyring(), [TOTP_SECRET])
    if op.get_context().dialect.name == "sqlite":
        _replace_column_on_sqlite("users", "totp_secret", "VARCHAR(64)")
    else:
        op.alter_column("users", "totp_secret", type_=sa.String(length=64), existing_type=sa.Text(),
                        existing_nullable=True)
