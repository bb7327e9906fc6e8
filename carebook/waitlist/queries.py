"""What the portal and the console show of the waitlist: read-only, Flask-free."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from carebook import timefmt
from carebook.clock import utcnow
from models import Doctor
from models.waitlist import (ALL_PARTS_OF_DAY, ALL_WEEKDAYS, PARTS_OF_DAY, OfferStatus, WaitlistEntry, WaitlistOffer,
                             WaitlistStatus)

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Ended entries stay on "My appointments" this long, so the patient sees what became of them.
ENDED_SHOWN_FOR = timedelta(days=14)


@dataclass
class EntryView:
    entry: WaitlistEntry
    #: The open offer, if any (the patient can claim it now).
    open_offer: WaitlistOffer | None = None
    offers: list[WaitlistOffer] = field(default_factory=list)


def who(entry: WaitlistEntry) -> str:
    return entry.doctor.name if entry.doctor is not None else f"any {entry.specialty} doctor"


def weekdays_text(bits: int) -> str:
    if bits == ALL_WEEKDAYS:
        return "any day"
    if bits == 0b0011111:
        return "weekdays"
    return ", ".join(name for index, name in enumerate(WEEKDAY_NAMES) if bits & (1 << index))


def times_text(bits: int) -> str:
    if bits == ALL_PARTS_OF_DAY:
        return "any time of day"
    return ", ".join(name.lower() + "s" for index, name in enumerate(PARTS_OF_DAY) if bits & (1 << index))


def notice_text(minutes: int) -> str:
    if minutes == 0:
        return "at short notice"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"with at least {days} day{'s' if days > 1 else ''}' notice" if days > 1 else "with a day's notice"
    if minutes % 60 == 0:
        return f"with at least {minutes // 60} hours' notice"
    return f"with at least {minutes} minutes' notice"


def describe(entry: WaitlistEntry) -> str:
    """"Tue 2 Jun – Fri 5 Jun, weekdays, mornings, at short notice" (nothing about health)."""
    if entry.earliest_date == entry.latest_date:
        days = timefmt.format_date(entry.earliest_date)
    else:
        days = f"{timefmt.format_date(entry.earliest_date)} – {timefmt.format_date(entry.latest_date)}"
    return f"{days}, {weekdays_text(entry.weekdays)}, {times_text(entry.times_of_day)}, " \
           f"{notice_text(entry.min_notice_minutes)}"


def patient_entries(session: Session, patient_id: int) -> list[EntryView]:
    """The patient's active entries, and those ended lately, newest first, each with its offers."""
    since = utcnow() - ENDED_SHOWN_FOR
    rows = session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.patient_id == patient_id,
        or_(WaitlistEntry.status == WaitlistStatus.ACTIVE, WaitlistEntry.ended_at >= since))
        .order_by(WaitlistEntry.status != WaitlistStatus.ACTIVE, WaitlistEntry.created_at.desc())).all()
    return _with_offers(session, rows)


def doctor_waitlist(session: Session, doctor: Doctor) -> list[EntryView]:
    """The active entries waiting for ``doctor`` (theirs, and their specialty's), longest-waiting first."""
    rows = session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.status == WaitlistStatus.ACTIVE,
        or_(WaitlistEntry.doctor_id == doctor.id,
            and_(WaitlistEntry.doctor_id.is_(None), WaitlistEntry.specialty == doctor.specialty)))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()
    return _with_offers(session, rows)


def waiting_counts(session: Session) -> dict[int, int]:
    """Active entries per doctor named (the console's doctor list)."""
    return dict(session.execute(select(WaitlistEntry.doctor_id, func.count()).where(
        WaitlistEntry.status == WaitlistStatus.ACTIVE, WaitlistEntry.doctor_id.is_not(None))
        .group_by(WaitlistEntry.doctor_id)).all())


def refilled_since(session: Session, since: datetime) -> int:
    """Freed slots refilled from the waitlist (offers claimed) since ``since``."""
    return session.scalar(select(func.count()).select_from(WaitlistOffer).where(
        WaitlistOffer.status == OfferStatus.CLAIMED, WaitlistOffer.claimed_at >= since)) or 0


def start_of_week(tz: ZoneInfo) -> datetime:
    """Monday 00:00 of this week in the clinic's zone, as UTC."""
    today = utcnow().astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tz).astimezone(timezone.utc)


def waited(entry: WaitlistEntry) -> str:
    """How long the patient has waited, in words ("3 days", "5 hours", "10 minutes")."""
    seconds = max(0, int((utcnow() - entry.created_at).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "just now"


def _with_offers(session: Session, rows: list[WaitlistEntry]) -> list[EntryView]:
    if not rows:
        return []
    offers = session.scalars(select(WaitlistOffer).where(WaitlistOffer.entry_id.in_([row.id for row in rows]))
                             .order_by(WaitlistOffer.sent_at)).all()
    now = utcnow()
    views = {row.id: EntryView(row) for row in rows}
    for offer in offers:
        view = views[offer.entry_id]
        view.offers.append(offer)
        if offer.status is OfferStatus.PENDING and offer.expires_at > now:
            view.open_offer = offer
    return list(views.values())
