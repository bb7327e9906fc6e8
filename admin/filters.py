"""List filters and searches that speak the front desk's language: clinic dates, names, phones, birthdays."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_admin.model.filters import BaseDateBetweenFilter
from sqlalchemy import func, or_, select

from admin.base import clinic_zone
from carebook import calendar_limits
from carebook.extensions import db
from models import AppointmentStatus, Doctor, Patient, User

# -- clinic-date filters over UTC instants ----------------------------------------------------


def local_day_window(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[start of first_day, start of the day after last_day) at the clinic, as UTC instants."""
    zone = clinic_zone()
    start = datetime.combine(first_day, time(0), zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _parse_date(value: str) -> date:
    day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    if not calendar_limits.day_in_span(day):
        raise ValueError("date out of range")  # Flask-Admin then leaves the filter out, as for any bad date
    return day


class LocalDateOnFilter(BaseSQLAFilter):
    """Instants falling on one clinic date."""

    def __init__(self, column, name: str) -> None:
        super().__init__(column, name, data_type="datepicker")

    def clean(self, value: str) -> date:
        return _parse_date(value)

    def apply(self, query, value: date, alias=None):
        start, end = local_day_window(value, value)
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)

    def operation(self):
        return lazy_gettext("on")


class LocalDateFromFilter(LocalDateOnFilter):
    def apply(self, query, value: date, alias=None):
        start, _ = local_day_window(value, value)
        return query.filter(self.get_column(alias) >= start)

    def operation(self):
        return lazy_gettext("on or after")


class LocalDateUntilFilter(LocalDateOnFilter):
    def apply(self, query, value: date, alias=None):
        _, end = local_day_window(value, value)
        return query.filter(self.get_column(alias) < end)

    def operation(self):
        return lazy_gettext("on or before")


class LocalDateBetweenFilter(BaseSQLAFilter, BaseDateBetweenFilter):
    """Instants between two clinic dates, both included ("2026-06-01 to 2026-06-07")."""

    def __init__(self, column, name: str) -> None:
        super().__init__(column, name, data_type="daterangepicker")

    def clean(self, value: str) -> list[date]:
        return [_parse_date(part) for part in value.split(" to ")]

    def validate(self, value: str) -> bool:
        try:
            days = self.clean(value)
        except ValueError:
            return False
        return len(days) == 2 and days[0] <= days[1]

    def apply(self, query, value: list[date], alias=None):
        start, end = local_day_window(value[0], value[1])
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)


def local_date_filters(column, name: str) -> list[BaseSQLAFilter]:
    return [LocalDateBetweenFilter(column, name), LocalDateOnFilter(column, name),
            LocalDateFromFilter(column, name), LocalDateUntilFilter(column, name)]


class StatusFilter(FilterEqual):
    def __init__(self, column, name: str = "Status") -> None:
        super().__init__(column, name, options=[(s.value, s.value.replace("_", "-").capitalize())
                                                for s in AppointmentStatus])

    def clean(self, value: str) -> AppointmentStatus:
        return AppointmentStatus(value)  # ValueError marks the filter value invalid


class LazyOptions:
    """Filter choices read from the database each time a list is drawn.

    Flask-Admin evaluates a filter's options when the view is created (outside any
    request); this stands in for the list until the page iterates it.
    """

    def __init__(self, load) -> None:
        self.load = load

    def __iter__(self):
        return iter(self.load())

    def __bool__(self) -> bool:
        return True


def doctor_options() -> list[tuple[str, str]]:
    """Every doctor as a (id, label) choice, by name; inactive ones say so."""
    doctors = db.session.scalars(select(Doctor).join(Doctor.user).order_by(User.full_name, Doctor.id)).all()
    return [(str(d.id), d.name + ("" if d.is_active else " (inactive)")) for d in doctors]


class IdChoiceFilter(FilterEqual):
    """Equals one of a list of records offered by id (e.g. a doctor), chosen from a drop-down."""

    def clean(self, value: str) -> int:
        return int(value)


# -- finding patients the way people ask for them ---------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def _as_date(term: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(term, fmt).date()
        except ValueError:
            continue
    return None


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def patient_term_clause(term: str, patient=Patient, user=User):
    """A condition matching one search word against a patient's name, email, phone or date of birth.

    Phones match whatever spaces or dashes either side has; dates may be written
    2026-06-01 or 01/06/2026.
    """
    pattern = _like(term)
    conditions = [user.full_name.ilike(pattern, escape="\\"), user.email.ilike(pattern, escape="\\"),
                  patient.phone.ilike(pattern, escape="\\")]
    digits = re.sub(r"\D", "", term)
    if len(digits) >= 4 and len(digits) >= len(term.replace(" ", "")) - 2:
        bare_phone = patient.phone
        for separator in (" ", "-", "+", "(", ")"):
            bare_phone = func.replace(bare_phone, separator, "")
        conditions.append(bare_phone.like(f"%{digits}%"))
    birthday = _as_date(term)
    if birthday is not None:
        conditions.append(patient.date_of_birth == birthday)
    return or_(*conditions)


def search_terms(search: str) -> list[str]:
    """The words of a search box, at most a handful, each of sane length."""
    return [term[:100] for term in search.split() if term][:6]

