"""Patients without email (phone only), how each patient wants to hear from the clinic, and invitations.

``users.email`` becomes nullable: a patient that staff registered from a phone call may have
none (and then has no online login). Addresses that exist stay unique (NULLs never collide,
on PostgreSQL and SQLite alike) and folded to lower case (the check passes for NULL).
``patients.contact_preference`` is email, sms or both; every existing patient has an email,
so they all start with "email", as they were served until now.

On SQLite, making the column nullable rebuilds ``users`` (batch mode): the table has no
triggers, and migrations/env.py runs SQLite migrations with foreign keys off, so dropping the
old table neither cascades into sessions nor trips the patients' and doctors' references.
``invitations`` holds the single-use links staff give a patient without a login, to set a
password and add an email (carebook/invitations.py); only the token's hash is kept.
Downgrading refuses while a user has no email, rather than invent addresses.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_preference', sa.Enum(
            'email', 'sms', 'both', name='contact_preference', native_enum=False, create_constraint=True,
            length=8), server_default='email', nullable=False))
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invitations_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_user_id'), ['user_id'], unique=False)


def downgrade():
    without = op.get_bind().scalar(sa.text("SELECT count(*) FROM users WHERE email IS NULL"))
    if without:
        raise RuntimeError(f"{without} account(s) have no email address: give them one (or remove them) "
                           "before downgrading below 0010")
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_user_id'))
    op.drop_table('invitations')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patients_contact_preference'), type_='check')
        batch_op.drop_column('contact_preference')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
