"""Appointments, the audit log, and stored API idempotency results."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carebook.clock import utcnow
from carebook.extensions import db
from models.appointment_types import AppointmentType
from models.types import UTCDateTime
from models.users import Doctor, Patient, User


class AppointmentStatus(str, enum.Enum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


# The database itself refuses overlapping booked appointments. On PostgreSQL these
# are exclusion constraints over half-open ranges; on SQLite, triggers (see the
# initial migration and 0011). A doctor's range runs to ``buffer_end_at`` (the
# appointment and the buffer after it), a patient's to ``end_at``. The booking service
# maps either to a clean conflict.
DOCTOR_OVERLAP_CONSTRAINT = "ex_appointments_doctor_overlap"
PATIENT_OVERLAP_CONSTRAINT = "ex_appointments_patient_overlap"


def _default_type_id(context) -> int | None:
    """An appointment written without a type is of its doctor's default type.

    The booking service always names the type; this keeps rows written any other way
    (scripts, fixtures, an INSERT through SQLAlchemy Core) inside the same rules.
    """
    doctor_id = context.get_current_parameters()["doctor_id"]
    return context.connection.scalar(select(Doctor.default_appointment_type_id).where(Doctor.id == doctor_id))


def _default_buffer_end(context) -> datetime | None:
    """``end_at`` plus the buffer of the appointment's type (named, or the doctor's default)."""
    parameters = context.get_current_parameters()
    end_at = parameters["end_at"]
    type_id = parameters.get("appointment_type_id") or _default_type_id(context)
    if end_at is None or type_id is None:
        return None
    if isinstance(end_at, str):  # pragma: no cover - SQLite text handed in by hand
        end_at = datetime.fromisoformat(end_at)
    buffer = context.connection.scalar(select(AppointmentType.buffer_minutes)
                                       .where(AppointmentType.id == type_id))
    return end_at + timedelta(minutes=buffer or 0)


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("buffer_end_at >= end_at", name="buffer_end_after_end"),
        Index("ix_appointments_doctor_start", "doctor_id", "start_at"),
        Index("ix_appointments_patient_start", "patient_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What is booked; the doctor's default type if left out.
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"), index=True,
                                                     default=_default_type_id)
    #: ``end_at`` plus the type's buffer as it was at booking: the doctor's time this appointment
    #: takes. Each appointment keeps its own buffer, whatever the type or doctor says later.
    buffer_end_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_default_buffer_end)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(AppointmentStatus, name="appointment_status", native_enum=False, create_constraint=True,
             values_callable=lambda statuses: [s.value for s in statuses], length=16),
        default=AppointmentStatus.BOOKED,
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    # Set when a change of the doctor's availability left this booking outside their hours.
    needs_attention: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str] = mapped_column(String(500), default="")
    # iCalendar SEQUENCE: one more at every move or cancellation, so calendar apps replace the event.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    doctor: Mapped[Doctor] = relationship(lazy="joined", innerjoin=True)
    patient: Mapped[Patient] = relationship(lazy="joined", innerjoin=True)
    appointment_type: Mapped[AppointmentType] = relationship(lazy="joined", innerjoin=True)
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])

    @property
    def is_booked(self) -> bool:
        return self.status is AppointmentStatus.BOOKED

    @property
    def cancelled_by_clinic(self) -> bool:
        """Cancelled by someone other than the patient (staff, the doctor, or the system)."""
        return self.status is AppointmentStatus.CANCELLED and self.cancelled_by_id != self.patient.user_id


class AuditEntry(db.Model):
    """Who changed what, when, and through which door (portal, api, admin, cli, system)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class IdempotencyRecord(db.Model):
    """The first answer given to an API request carrying an ``Idempotency-Key``."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
