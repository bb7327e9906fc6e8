"""Accounts (one table for every role), their sign-in sessions, and the role profiles."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, String, event, false, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

if TYPE_CHECKING:
    from models.appointment_types import AppointmentType

from carebook.clock import utcnow
from carebook.extensions import db
from carebook.secrets_at_rest import EncryptedString
from models.types import UTCDateTime


class Role(str, enum.Enum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    STAFF = "staff"


class ContactPreference(str, enum.Enum):
    """How a patient wants to hear from the clinic (confirmations, changes, reminders)."""

    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"

    @property
    def by_email(self) -> bool:
        return self in (ContactPreference.EMAIL, ContactPreference.BOTH)

    @property
    def by_sms(self) -> bool:
        return self in (ContactPreference.SMS, ContactPreference.BOTH)


class User(db.Model, UserMixin):
    __tablename__ = "users"
    __table_args__ = (
        # Addresses are compared case-insensitively, so they are stored folded.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null for a patient without email (registered by staff from a phone call): no online login then.
    # Unique among the addresses that exist (NULLs never collide), stored folded to lower case.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, create_constraint=True,
             values_callable=lambda roles: [r.value for r in roles], length=16)
    )
    # Null for a patient created by staff for a phone booking who has not chosen one yet.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor authentication (TOTP, RFC 6238). A secret without ``totp_enabled_at`` is an
    # enrolment in progress: shown to the user, not yet confirmed with a code. Stored encrypted
    # with the keys of SECRETS_ENCRYPTION_KEYS (carebook/secrets_at_rest.py); plain text here.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString())
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last 30-second time step whose code was accepted: each code is good once.
    totp_last_step: Mapped[int | None]
    #: When the owner was last emailed about repeated failed sign-ins (carebook/sign_in_alerts.py).
    failed_sign_in_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient | None] = relationship(back_populates="user", uselist=False)
    doctor: Mapped[Doctor | None] = relationship(back_populates="user", uselist=False)

    #: Set by the sign-in layer to the cookie's token of the UserSession this request runs under.
    login_session_id = None

    def get_id(self) -> str:
        # Flask-Login stores this in the cookie: the revocable session row, not the user id.
        if self.login_session_id is None:
            raise RuntimeError("User.get_id() called without a sign-in session")
        return self.login_session_id

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name.strip() else self.full_name

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class UserSession(db.Model):
    """One signed-in browser or API client.

    The session cookie carries only this row's random id. Logging out, disabling
    the account or changing the password revokes the row, so a copied cookie
    stops working at once (a signed cookie alone could not be revoked).
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    #: The token itself, on the row just started (carebook.accounts.start_session); never stored.
    token = None

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.user.is_active


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (a lost phone). Only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the normalised code: the codes carry 80 random bits, so a slow hash adds nothing.
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordResetToken(db.Model):
    """One emailed "choose a new password" link: single use, expiring, void once the password changes."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token in the link; the token itself is only ever in the email.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set when the link is used, or voided by another password change.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class Invitation(db.Model):
    """A single-use link staff give a patient without a login (carebook/invitations.py): it lets them
    set a password and, if they have none, add an email address. It expires, and a newer one voids it."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token in the link; the token itself is only shown once (and emailed).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set when the link is used, or voided by a newer invitation.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)


class RegistrationRequest(db.Model):
    """A registration waiting for its owner to follow the emailed link (carebook/registration.py).

    Nothing here is an account yet: the request answers the same whether or not the address
    already has one, and only the link, which reaches nobody but the owner of the mailbox,
    turns the row into an account. Deleted when used, and when it has expired.
    """

    __tablename__ = "registration_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Folded to lower case, like ``users.email``; not unique: anyone may ask more than once.
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date]
    phone: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the token in the emailed link, set when the link is sent (the token itself is
    #: only ever in the email); null until then.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Patient(db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    #: None only once the patient is erased (carebook/patient_data/erasure.py).
    date_of_birth: Mapped[date | None]
    #: E.164 ("+447700900123", carebook/phones.py); an old number that could not be read when
    #: numbers moved to E.164 (migration 0009) is kept as typed, with ``phone_needs_check`` set.
    phone: Mapped[str] = mapped_column(String(32))
    phone_needs_check: Mapped[bool] = mapped_column(default=False, server_default=false())
    contact_preference: Mapped[ContactPreference] = mapped_column(
        Enum(ContactPreference, name="contact_preference", native_enum=False, create_constraint=True,
             values_callable=lambda members: [m.value for m in members], length=8),
        default=ContactPreference.EMAIL, server_default=ContactPreference.EMAIL.value)
    #: When staff erased the patient at their request: identifying data gone, history kept pseudonymised.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="patient", lazy="joined", innerjoin=True)

    @property
    def name(self) -> str:
        return self.user.full_name

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class Doctor(db.Model):
    __tablename__ = "doctors"
    __table_args__ = (
        CheckConstraint("appointment_minutes BETWEEN 5 AND 240", name="appointment_minutes_range"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer_minutes_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    specialty: Mapped[str] = mapped_column(String(80), index=True)
    appointment_minutes: Mapped[int] = mapped_column(default=15)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    # Inactive doctors take no new bookings; their history stays.
    is_active: Mapped[bool] = mapped_column(default=True)
    # Moved on by database triggers whenever the doctor's appointments, hours, one-off changes
    # or time off change (migration 0004); read, never written, by the app (carebook/slot_cache.py).
    calendar_version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    #: The type booked when none is named (old API clients, the doctor's own length and buffer):
    #: made for the doctor from ``appointment_minutes`` and ``buffer_minutes`` and kept in step with them.
    default_appointment_type_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_types.id"))

    user: Mapped[User] = relationship(back_populates="doctor", lazy="joined", innerjoin=True)
    default_appointment_type: Mapped[AppointmentType | None] = relationship()

    @property
    def name(self) -> str:
        return self.user.full_name


class ContactPreferenceError(ValueError):
    """A patient without email set to hear from the clinic by email: refused at flush, whatever the door."""


@event.listens_for(Session, "before_flush")
def _no_email_means_sms_only(session: Session, flush_context, instances) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Patient):
            patient = obj
        elif isinstance(obj, User) and "patient" not in inspect(obj).unloaded:
            patient = obj.patient
        else:
            continue
        if patient is None or patient.user is None:
            continue
        preference = patient.contact_preference or ContactPreference.EMAIL
        if ContactPreference(preference).by_email and not patient.user.email:
            raise ContactPreferenceError(f"patient {patient.id}: no email address, so SMS is the only channel")
