"""The waitlist: patients waiting for a time that suits them, and the freed slots offered to them.

* ``waitlist_entries``: what one patient waits for (a doctor, or any doctor of a specialty;
  a type; a date range, weekdays, parts of the day, how much notice they need), or "an
  earlier time than this appointment". ``created_at`` is the place in the queue.
* ``waitlist_offers``: one freed slot offered to one entry, with the end of its hold-free
  window (``expires_at``). An offer holds nothing: the slot stays bookable by anyone, and
  the first to claim it through the booking service wins.

The database makes the wrong states impossible, whatever the door: an entry names a doctor
or a specialty, its range is in order, it chose at least one weekday and part of the day;
an offer ends before its slot starts, is claimed only with the booking it made, is never
made twice for one slot and entry, an entry has at most one open offer and is fulfilled at
most once (partial unique indexes), and an appointment has at most one active "earlier
than this" entry.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carebook.clock import utcnow
from carebook.extensions import db
from models.appointment_types import AppointmentType
from models.appointments import Appointment
from models.types import UTCDateTime
from models.users import Doctor, Patient, User

#: Weekdays as bits, Monday first (``1 << date.weekday()``); every day of the week.
ALL_WEEKDAYS = 0b1111111
#: Parts of the day as bits, in the order timefmt.part_of_day names them.
PARTS_OF_DAY = ("Morning", "Afternoon", "Evening")
ALL_PARTS_OF_DAY = 0b111
#: The most notice a patient may ask for (two weeks), in minutes.
MAX_NOTICE_MINUTES = 14 * 24 * 60


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    return Enum(enum_class, name=name, native_enum=False, create_constraint=True,
                values_callable=lambda members: [m.value for m in members], length=16)


class WaitlistStatus(str, enum.Enum):
    ACTIVE = "active"
    #: An offer was claimed: the patient got their appointment (or their earlier time).
    FULFILLED = "fulfilled"
    #: Left by the patient, or by staff for them; or its "earlier than" appointment was cancelled.
    WITHDRAWN = "withdrawn"
    #: The date range passed (or the "earlier than" appointment started) with nothing claimed.
    EXPIRED = "expired"


class OfferStatus(str, enum.Enum):
    PENDING = "pending"
    CLAIMED = "claimed"
    #: Nobody claimed it within the hold-free window; the slot went to the next ones.
    EXPIRED = "expired"
    #: Someone booked the slot (a normal booking, or another offered patient): too late.
    TAKEN = "taken"
    #: The entry ended (left, fulfilled elsewhere) while the offer was open.
    WITHDRAWN = "withdrawn"


class WaitlistEntry(db.Model):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("doctor_id IS NOT NULL OR specialty IS NOT NULL", name="doctor_or_specialty"),
        CheckConstraint("latest_date >= earliest_date", name="date_range_in_order"),
        CheckConstraint(f"weekdays BETWEEN 1 AND {ALL_WEEKDAYS}", name="weekdays_chosen"),
        CheckConstraint(f"times_of_day BETWEEN 1 AND {ALL_PARTS_OF_DAY}", name="times_of_day_chosen"),
        CheckConstraint(f"min_notice_minutes BETWEEN 0 AND {MAX_NOTICE_MINUTES}", name="notice_range"),
        CheckConstraint("earlier_than_appointment_id IS NULL OR doctor_id IS NOT NULL",
                        name="earlier_than_names_doctor"),
        CheckConstraint("(status = 'active') = (ended_at IS NULL)", name="ended_unless_active"),
        Index("ix_waitlist_entries_doctor_queue", "doctor_id", "status", "created_at"),
        Index("ix_waitlist_entries_specialty_queue", "specialty", "status", "created_at"),
        Index("ix_waitlist_entries_patient", "patient_id", "status"),
        # One active "earlier than this" request per appointment.
        Index("uq_waitlist_entries_one_active_earlier", "earlier_than_appointment_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    #: The doctor waited for; None: any doctor of ``specialty``.
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"))
    specialty: Mapped[str | None] = mapped_column(String(80))
    #: None: each doctor's default type.
    appointment_type_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_types.id"))
    earliest_date: Mapped[date]
    latest_date: Mapped[date]
    weekdays: Mapped[int] = mapped_column(default=ALL_WEEKDAYS)
    times_of_day: Mapped[int] = mapped_column(default=ALL_PARTS_OF_DAY)
    #: How soon the patient can come: no offer for a slot sooner than this from the offer.
    min_notice_minutes: Mapped[int] = mapped_column(default=0)
    #: "An earlier time than this appointment": claiming moves it instead of booking another.
    earlier_than_appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    status: Mapped[WaitlistStatus] = mapped_column(_enum(WaitlistStatus, "waitlist_status"),
                                                   default=WaitlistStatus.ACTIVE)
    #: The place in the queue: the longest-waiting matching patients are offered a slot first.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who added it: the patient, or staff for a phone caller.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship(lazy="joined", innerjoin=True)
    doctor: Mapped[Doctor | None] = relationship()
    appointment_type: Mapped[AppointmentType | None] = relationship()
    earlier_than: Mapped[Appointment | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status is WaitlistStatus.ACTIVE


class WaitlistOffer(db.Model):
    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("expires_at > sent_at", name="hold_after_sent"),
        CheckConstraint("expires_at <= start_at", name="hold_ends_before_slot"),
        CheckConstraint("(status = 'claimed') = (claimed_at IS NOT NULL)", name="claimed_when_claimed_at"),
        CheckConstraint("status <> 'claimed' OR appointment_id IS NOT NULL", name="claim_names_booking"),
        CheckConstraint("round >= 1", name="round_positive"),
        # Never the same slot twice to the same entry (also what makes a repeated offering pass harmless).
        UniqueConstraint("entry_id", "doctor_id", "start_at", name="uq_waitlist_offers_entry_slot"),
        Index("uq_waitlist_offers_one_fulfilment", "entry_id", unique=True,
              sqlite_where=text("status = 'claimed'"), postgresql_where=text("status = 'claimed'")),
        Index("uq_waitlist_offers_one_open", "entry_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_waitlist_offers_slot", "doctor_id", "start_at", "status"),
        Index("ix_waitlist_offers_open", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The end of the hold-free window: after it the slot is offered to the next ones.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: 1 for the first patients offered this slot, 2 for the next ones, ...
    round: Mapped[int] = mapped_column(default=1)
    status: Mapped[OfferStatus] = mapped_column(_enum(OfferStatus, "waitlist_offer_status"),
                                                default=OfferStatus.PENDING)
    #: The channels it went out on ("email", "sms", "email+sms"; "" for none), see carebook/waitlist/delivery.py.
    channels: Mapped[str] = mapped_column(String(16), default="")
    #: Staff who offered it by hand; None when the relay offered it.
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The appointment the claim booked (or moved).
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[WaitlistEntry] = relationship(lazy="joined", innerjoin=True)
    doctor: Mapped[Doctor] = relationship()
    appointment_type: Mapped[AppointmentType] = relationship()
