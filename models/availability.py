"""When a doctor works: weekly hours, one-off changes on a date, and time off."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from carebook.extensions import db
from models.types import UTCDateTime


class WeeklyHours(db.Model):
    """One working range on one weekday, in clinic wall-clock time.

    All rows of a doctor with the same ``valid_from`` form a weekly pattern that
    applies from that date until the next pattern starts, so a change of hours
    can be planned ahead.
    """

    __tablename__ = "weekly_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        Index("ix_weekly_hours_doctor_valid_from", "doctor_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    valid_from: Mapped[date]
    weekday: Mapped[int] = mapped_column(SmallInteger)  # Monday is 0, as in date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]


class DateOverride(db.Model):
    """A one-off change: on ``on_date`` the weekly hours are replaced by these rows.

    A row without times means the doctor is not working that day at all.
    """

    __tablename__ = "date_overrides"
    __table_args__ = (
        CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR (end_time > start_time)",
            name="closed_or_end_after_start",
        ),
        Index("ix_date_overrides_doctor_date", "doctor_id", "on_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    on_date: Mapped[date]
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]


class TimeOff(db.Model):
    """An absence between two instants: a holiday, a whole day or part of one."""

    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_time_off_doctor_end", "doctor_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")
