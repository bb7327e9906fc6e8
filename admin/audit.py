"""The audit log, read-only: who did what to which appointment, availability or account, when, and from where."""
from __future__ import annotations

from datetime import datetime

from dataclasses import dataclass, field

from flask import g, url_for
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike, IntEqualFilter
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from admin.base import StaffModelView, format_local_datetime, link, local_datetime
from admin.filters import LazyOptions, local_date_filters
from carebook.audit import SOURCES
from carebook.extensions import db
from models import Appointment, AppointmentType, AuditEntry, Doctor, Patient, User

SOURCE_LABELS = {"portal": "Portal", "api": "API", "admin": "Staff console", "cli": "Command line",
                 "system": "System"}


def entity_type_options() -> list[tuple[str, str]]:
    kinds = db.session.scalars(select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)).all()
    return [(kind, kind) for kind in kinds]


def _readable(value):
    """Instants recorded in UTC (ISO 8601) shown in clinic time, like every other time on the page."""
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and "T" in value:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.utcoffset() is not None:
            return local_datetime(instant)
    return value


#: Detail keys that hold ids, with the kind of record and the words shown for them.
_ID_DETAILS = {"doctor_id": ("doctor", "doctor"), "patient_id": ("patient", "patient"), "user_id": ("user", "account"),
               "appointment_type_id": ("appointment_type", "type"),
               "flagged_appointment_ids": ("appointment", "flagged"),
               "cancelled_appointment_ids": ("appointment", "cancelled")}
#: Where a record of each kind is shown in the console.
_RECORD_PAGES = {"appointment": ("appointments.manage", "appointment_id"), "doctor": ("doctors.profile", "doctor_id"),
                 "patient": ("patients.history", "patient_id"),
                 "appointment_type": ("appointment_types.edit", "type_id")}


@dataclass
class RecordNames:
    """The names of the records a page of audit entries mentions, loaded with one query per kind.

    The log keeps ids (names change, and an id is what it was about); people read names:
    "Dr Ada Okafor", "Pat Patient", "Tue 2 Jun, 10:00 · Pat Patient with Dr Ada Okafor".
    """

    names: dict[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def of(cls, entries) -> RecordNames:
        wanted: dict[str, set[int]] = {"appointment": set(), "doctor": set(), "patient": set(), "user": set(),
                                       "appointment_type": set()}
        for entry in entries:
            if entry.entity_id is not None and entry.entity_type in wanted:
                wanted[entry.entity_type].add(entry.entity_id)
            for key, value in (entry.details or {}).items():
                kind = _ID_DETAILS.get(key, (None,))[0]
                if kind is not None:
                    wanted[kind].update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
        book = cls()
        if wanted["user"]:
            for user in db.session.scalars(select(User).where(User.id.in_(wanted["user"]))):
                book.names["user", user.id] = f"{user.full_name} ({user.role.value})"
        if wanted["doctor"]:
            for doctor in db.session.scalars(select(Doctor).where(Doctor.id.in_(wanted["doctor"]))):
                book.names["doctor", doctor.id] = doctor.name
        if wanted["patient"]:
            for patient in db.session.scalars(select(Patient).where(Patient.id.in_(wanted["patient"]))):
                book.names["patient", patient.id] = patient.name
        if wanted["appointment_type"]:
            for appointment_type in db.session.scalars(select(AppointmentType).where(
                    AppointmentType.id.in_(wanted["appointment_type"]))):
                book.names["appointment_type", appointment_type.id] = appointment_type.name
        if wanted["appointment"]:
            query = (select(Appointment).where(Appointment.id.in_(wanted["appointment"]))
                     .options(joinedload(Appointment.doctor).joinedload(Doctor.user),
                              joinedload(Appointment.patient).joinedload(Patient.user)))
            for appointment in db.session.scalars(query).unique():
                book.names["appointment", appointment.id] = (f"{local_datetime(appointment.start_at)} · "
                                                             f"{appointment.patient.name} with {appointment.doctor.name}")
        return book

    def name(self, kind: str, record_id: int) -> str:
        return self.names.get((kind, record_id), f"{kind.replace('_', ' ')} {record_id} (no longer exists)")


def _names(model: AuditEntry) -> RecordNames:
    """This page's names (loaded once by AuditView.get_list), or the one entry's on its details page."""
    names = g.get("audit_names")
    return names if names is not None else RecordNames.of([model])


def format_details(view, context, model: AuditEntry, name) -> str:
    """The details as plain "key: value" text (escaped by the template like any other text), ids as names."""
    names = _names(model)
    parts = []
    for key, value in sorted((model.details or {}).items()):
        if key in _ID_DETAILS:
            kind, words = _ID_DETAILS[key]
            ids = value if isinstance(value, list) else [value]
            value = ", ".join(names.name(kind, v) if isinstance(v, int) else str(v) for v in ids) or "none"
            key = words
        parts.append(f"{key}: {_readable(value)}")
    return "; ".join(parts)


def format_record(view, context, model: AuditEntry, name):
    if model.entity_id is None:
        return ""
    text = _names(model).name(model.entity_type, model.entity_id)
    page = _RECORD_PAGES.get(model.entity_type)
    if page is None:
        return text
    endpoint, argument = page
    return link(url_for(endpoint, **{argument: model.entity_id}), text)


class AuditView(StaffModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    column_list = ["at", "actor", "source", "action", "entity_type", "entity_id", "details"]
    column_details_list = column_list
    column_labels = {"at": "When", "actor": "Who", "source": "Through", "action": "Action",
                     "entity_type": "Kind", "entity_id": "Record", "details": "Details"}
    column_sortable_list = ["at", "source", "action", "entity_type", ("actor", "actor.full_name")]
    column_default_sort = [("at", True), ("id", True)]
    column_searchable_list = ["action", "actor.full_name", "actor.email"]
    column_filters = [
        FilterEqual(AuditEntry.source, "Through", options=[(s, SOURCE_LABELS.get(s, s)) for s in SOURCES]),
        FilterEqual(AuditEntry.entity_type, "Record", options=LazyOptions(entity_type_options)),
        IntEqualFilter(AuditEntry.entity_id, "Record id"),
        FilterLike(AuditEntry.action, "Action"),
        FilterLike("actor.full_name", "Who"),
        *local_date_filters(AuditEntry.at, "When"),
    ]
    column_formatters = {
        "at": format_local_datetime,
        "actor": lambda view, context, model, name: model.actor.full_name if model.actor else "System",
        "source": lambda view, context, model, name: SOURCE_LABELS.get(model.source, model.source),
        "entity_id": format_record,
        "details": format_details,
    }
    column_formatters_detail = column_formatters

    def get_list(self, *args, **kwargs):
        count, entries = super().get_list(*args, **kwargs)
        g.audit_names = RecordNames.of(entries)
        return count, entries

    def search_placeholder(self) -> str:
        return "Action or who (name, email)"

    def get_empty_list_message(self) -> str:
        return "No audit entries match."
