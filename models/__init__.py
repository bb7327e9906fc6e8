"""SQLAlchemy models and the database invariants. No HTTP, no AWS in here."""
from models.appointments import (
    DOCTOR_OVERLAP_CONSTRAINT,
    PATIENT_OVERLAP_CONSTRAINT,
    Appointment,
    AppointmentStatus,
    AuditEntry,
    IdempotencyRecord,
)
from models.appointment_types import AppointmentType, Audience, DoctorAppointmentType
from models.availability import DateOverride, TimeOff, WeeklyHours
from models.outbox import (LocalReminder, NotificationDelivery, OutboxKind, OutboxMessage, OutboxStatus,
                            ReminderDelivery)
from models.users import (ContactPreference, Doctor, Invitation, PasswordResetToken, Patient, RecoveryCode,
                          RegistrationRequest, Role, User, UserSession)
from models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus

__all__ = [
    "Appointment",
    "AppointmentType",
    "Audience",
    "DoctorAppointmentType",
    "AppointmentStatus",
    "AuditEntry",
    "ContactPreference",
    "DOCTOR_OVERLAP_CONSTRAINT",
    "DateOverride",
    "Doctor",
    "IdempotencyRecord",
    "Invitation",
    "NotificationDelivery",
    "PATIENT_OVERLAP_CONSTRAINT",
    "PasswordResetToken",
    "Patient",
    "RecoveryCode",
    "RegistrationRequest",
    "Role",
    "TimeOff",
    "User",
    "UserSession",
    "OfferStatus",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistStatus",
    "WeeklyHours",
]
